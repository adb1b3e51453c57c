"""The AWS CloudWatch Logs sink (``type = "cloudwatch"``).

``config`` (keys and templates), ``limits`` (API limits as named constants), ``batching`` (pure
request planning), ``sink`` (the asyncio sink around a boto3 client).
"""
