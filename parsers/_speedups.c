/* parsers._speedups: optional compiled fast paths for the hottest parsers.
 *
 * scan_combined() reads a batch of nginx/Apache "combined" access lines (optionally followed by
 * $request_time and $upstream_response_time) straight into records. It accepts exactly the lines
 * that parsers.nginx.ACCESS_COMBINED_ASCII matches, and only those that are pure ASCII; for any
 * other line (and for any line whose time, status or byte count needs a closer look) it leaves
 * None in the output, and the caller reads that line with the pure-Python code. So the compiled
 * path never decides anything the Python path would decide differently; it only skips the regex
 * engine, the match objects and one interpreter round trip per field.
 *
 * Every read is bounds-checked against the line's length; the line itself is never modified.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* PyMemberDef, T_OBJECT_EX, READONLY */
#include <string.h>

/* Python's \s for str patterns, restricted to ASCII (Py_UNICODE_ISSPACE): \t \n \v \f \r, the
 * four information separators 0x1c-0x1f, and space. */
static int
is_space(unsigned char c)
{
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20);
}

static int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The offset of the first ch at or after i, else n (memchr: the long runs are read word-wise). */
static Py_ssize_t
find_byte(const unsigned char *s, Py_ssize_t i, Py_ssize_t n, unsigned char ch)
{
    const unsigned char *p = memchr(s + i, ch, (size_t)(n - i));
    return p == NULL ? n : (Py_ssize_t)(p - s);
}

/* A run of [0-9]+ "." [0-9]+ starting at *pos; on success *pos is just past it. */
static int
scan_decimal(const unsigned char *s, Py_ssize_t n, Py_ssize_t *pos)
{
    Py_ssize_t i = *pos, start = i;
    while (i < n && is_digit(s[i]))
        i++;
    if (i == start || i >= n || s[i] != '.')
        return 0;
    i++;
    start = i;
    while (i < n && is_digit(s[i]))
        i++;
    if (i == start)
        return 0;
    *pos = i;
    return 1;
}

static const double powers_of_ten[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                       1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/* float() of a validated [0-9]+ "." [0-9]+ span; NULL (no exception set) when it cannot be read
 * here. Up to 15 digits the value is digits / 10**decimals: both are exact doubles, and one IEEE
 * division of exact operands is correctly rounded, as float() is (Clinger's fast path). Longer
 * spans go through PyOS_string_to_double, float()'s own reader. */
static PyObject *
decimal_to_float(const unsigned char *s, Py_ssize_t len)
{
    char buf[64];
    char *end = NULL;
    double value;
    if (len <= 16) { /* 15 digits and the point */
        long long digits = 0;
        int decimals = -1;
        Py_ssize_t k;
        for (k = 0; k < len; k++) {
            if (s[k] == '.')
                decimals = 0;
            else {
                digits = digits * 10 + (s[k] - '0');
                if (decimals >= 0)
                    decimals++;
            }
        }
        if (decimals >= 0)
            return PyFloat_FromDouble((double)digits / powers_of_ten[decimals]);
        return NULL;
    }
    if (len >= (Py_ssize_t)sizeof(buf))
        return NULL;
    memcpy(buf, s, (size_t)len);
    buf[len] = '\0';
    value = PyOS_string_to_double(buf, &end, NULL);
    if (value == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return NULL;
    }
    if (end != buf + len)
        return NULL;
    return PyFloat_FromDouble(value);
}

static PyObject *
ascii_str(const unsigned char *s, Py_ssize_t len)
{
    /* The caller checked the whole line is ASCII: copy the bytes into a new compact ASCII string
     * (what PyUnicode_DecodeASCII does, without checking them again). 0 and 1 characters: the
     * interpreter's shared strings. */
    PyObject *str;
    if (len <= 1)
        return len == 0 ? PyUnicode_New(0, 0) : PyUnicode_FromOrdinal(s[0]);
    str = PyUnicode_New(len, 127);
    if (str != NULL)
        memcpy(PyUnicode_1BYTE_DATA(str), s, (size_t)len);
    return str;
}

/* Field spans of one combined line: start and end offsets, -1 when absent. */
enum {
    F_ADDR, F_USER, F_TIME, F_METHOD, F_PATH, F_PROTO, F_STATUS, F_BYTES, F_REF, F_UA, F_RT, F_URT,
    F_COUNT
};

/* The end of the run of non-space characters (\S) starting at i. */
static Py_ssize_t
skip_non_space(const unsigned char *s, Py_ssize_t i, Py_ssize_t n)
{
    while (i < n && !is_space(s[i]))
        i++;
    return i;
}

/* The exact language of ACCESS_COMBINED_ASCII, read left to right (every quantifier there is
 * possessive, so one forward pass decides it):
 *   (\S++) - (\S++) \[([^\]]++)\] "([A-Z]++) ([^ "]*+) (HTTP/[0-9.]++)" ([0-9]{3}) ([0-9]++)
 *   "([^"]*+)" "([^"]*+)"(?: ([0-9]++\.[0-9]++)(?: ([0-9]++\.[0-9]++|-))?+)?+\Z
 * Returns 1 and fills the spans on a match, else 0. */
static int
split_combined(const unsigned char *s, Py_ssize_t n, Py_ssize_t st[F_COUNT], Py_ssize_t en[F_COUNT])
{
    Py_ssize_t i = 0, j;

/* The literal text LIT must come next. */
#define EXPECT(LIT)                                                        \
    do {                                                                   \
        Py_ssize_t len_ = (Py_ssize_t)sizeof(LIT) - 1;                     \
        if (n - i < len_ || memcmp(s + i, (LIT), (size_t)len_) != 0)       \
            return 0;                                                      \
        i += len_;                                                         \
    } while (0)
/* Field F is the span from j to i (a "++" run must not be empty). */
#define SPAN(F, NONEMPTY)             \
    do {                              \
        if ((NONEMPTY) && i == j)     \
            return 0;                 \
        st[F] = j;                    \
        en[F] = i;                    \
    } while (0)

    j = i;
    i = skip_non_space(s, i, n);
    SPAN(F_ADDR, 1);
    EXPECT(" - ");
    j = i;
    i = skip_non_space(s, i, n);
    SPAN(F_USER, 1);
    EXPECT(" [");
    j = i;
    i = find_byte(s, i, n, ']');
    SPAN(F_TIME, 1);
    EXPECT("] \"");
    j = i;
    while (i < n && s[i] >= 'A' && s[i] <= 'Z')
        i++;
    SPAN(F_METHOD, 1);
    EXPECT(" ");
    j = i; /* the path: anything but space and quote, possibly empty */
    while (i < n && s[i] != ' ' && s[i] != '"')
        i++;
    SPAN(F_PATH, 0);
    EXPECT(" ");
    j = i;
    EXPECT("HTTP/");
    while (i < n && (is_digit(s[i]) || s[i] == '.'))
        i++;
    if (i == j + 5) /* [0-9.]++ after "HTTP/" */
        return 0;
    SPAN(F_PROTO, 1);
    EXPECT("\" ");
    j = i; /* the status: exactly three digits */
    while (i < n && i < j + 3 && is_digit(s[i]))
        i++;
    if (i != j + 3)
        return 0;
    SPAN(F_STATUS, 1);
    EXPECT(" ");
    j = i;
    while (i < n && is_digit(s[i]))
        i++;
    SPAN(F_BYTES, 1);
    EXPECT(" \"");
    j = i;
    i = find_byte(s, i, n, '"');
    SPAN(F_REF, 0);
    EXPECT("\" \"");
    j = i;
    i = find_byte(s, i, n, '"');
    SPAN(F_UA, 0);
    EXPECT("\"");
    st[F_RT] = en[F_RT] = st[F_URT] = en[F_URT] = -1;
    if (i == n)
        return 1;
    /* " request_time", then the end or " upstream_response_time" (a decimal or "-") and the end */
    EXPECT(" ");
    j = i;
    if (!scan_decimal(s, n, &i))
        return 0;
    SPAN(F_RT, 1);
    if (i == n)
        return 1;
    EXPECT(" ");
    j = i;
    if (i < n && s[i] == '-')
        i++;
    else if (!scan_decimal(s, n, &i))
        return 0;
    SPAN(F_URT, 1);
    return i == n;
#undef EXPECT
#undef SPAN
}

/* What scan_combined needs for every line of a batch. */
typedef struct {
    PyTypeObject *record_type;
    PyObject *empty_args;
    /* Offsets of Record's five slots (ts_ns, level, message, fields, error) in its instances. */
    Py_ssize_t slot[5];
    PyObject *ts_cache;
    PyObject *levels; /* (info, warning, error) */
    PyObject *keys;   /* the eleven field names */
    /* {key: None} for the first 9, 10 and 11 keys: a fields dict is a copy of one (a copy of a
     * dict clones its hash table in one go) with the values then replaced. */
    PyObject *templates[3];
    /* The last line's time string and its value: consecutive lines mostly share their second. */
    char prev_time[64];
    Py_ssize_t prev_time_len;
    PyObject *prev_ts;
} ScanState;

static const char *const record_slot_names[5] = {"ts_ns", "level", "message", "fields", "error"};

/* Fill the offsets of the record type's slots; -1 with an exception when it has not those five
 * plain slots (then it is not the Record this module was written for). */
static int
find_record_slots(ScanState *state)
{
    int k;
    for (k = 0; k < 5; k++) {
        PyObject *descr = PyDict_GetItemString(state->record_type->tp_dict, record_slot_names[k]);
        PyMemberDef *member;
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            PyErr_Format(PyExc_TypeError, "record_type has no slot named %s", record_slot_names[k]);
            return -1;
        }
        member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
            PyErr_Format(PyExc_TypeError, "record_type.%s is not a plain slot", record_slot_names[k]);
            return -1;
        }
        state->slot[k] = member->offset;
    }
    return 0;
}

/* Store a new reference to value in slot k of a freshly made record (whose slots are all NULL). */
static void
set_slot(PyObject *rec, const ScanState *state, int k, PyObject *value)
{
    PyObject **addr = (PyObject **)((char *)rec + state->slot[k]);
    *addr = Py_NewRef(value);
}

/* Replace the value of key number k in a dict copied from a template (the key is there already,
 * so this neither inserts nor resizes). Steals value. */
static int
put(PyObject *fields, const ScanState *state, Py_ssize_t k, PyObject *value)
{
    int rc;
    if (value == NULL)
        return -1;
    rc = PyDict_SetItem(fields, PyTuple_GET_ITEM(state->keys, k), value);
    Py_DECREF(value);
    return rc;
}

/* put() of the string s[start:end]. */
static int
put_span(PyObject *fields, const ScanState *state, Py_ssize_t k, const unsigned char *s, Py_ssize_t start,
         Py_ssize_t end)
{
    return put(fields, state, k, ascii_str(s + start, end - start));
}

/* One record for one line, or Py_None (a new reference) when the Python path must read it.
 * NULL only on a real error (memory). */
static PyObject *
record_for_line(PyObject *line, ScanState *state)
{
    const unsigned char *s;
    Py_ssize_t n, st[F_COUNT], en[F_COUNT], tlen, k;
    PyObject *ts = NULL, *fields = NULL, *rec = NULL, *rt = NULL, *urt = NULL;
    long status;
    long long nbytes = 0;
    int nfields;

    if (!PyUnicode_Check(line) || PyUnicode_READY(line) < 0 || !PyUnicode_IS_ASCII(line))
        Py_RETURN_NONE;
    s = (const unsigned char *)PyUnicode_DATA(line);
    n = PyUnicode_GET_LENGTH(line);
    if (!split_combined(s, n, st, en))
        Py_RETURN_NONE;

    /* status 100-999 (what parsers.nginx._STATUS knows); 099 is the Python path's to judge */
    status = (s[st[F_STATUS]] - '0') * 100 + (s[st[F_STATUS] + 1] - '0') * 10 + (s[st[F_STATUS] + 2] - '0');
    if (status < 100)
        Py_RETURN_NONE;
    /* body_bytes_sent: up to 18 digits fit a long long exactly; longer runs go the Python way */
    if (en[F_BYTES] - st[F_BYTES] > 18)
        Py_RETURN_NONE;
    for (k = st[F_BYTES]; k < en[F_BYTES]; k++)
        nbytes = nbytes * 10 + (s[k] - '0');
    /* request_time and upstream_response_time ("-": none) */
    nfields = 9;
    if (st[F_RT] >= 0) {
        rt = decimal_to_float(s + st[F_RT], en[F_RT] - st[F_RT]);
        if (rt == NULL)
            goto python_path;
        nfields = 10;
        if (st[F_URT] >= 0 && !(en[F_URT] - st[F_URT] == 1 && s[st[F_URT]] == '-')) {
            urt = decimal_to_float(s + st[F_URT], en[F_URT] - st[F_URT]);
            if (urt == NULL)
                goto python_path;
            nfields = 11;
        }
    }

    /* The time, through the parser's cache (a string that is no time raises KeyError there). */
    tlen = en[F_TIME] - st[F_TIME];
    if (state->prev_ts != NULL && tlen == state->prev_time_len &&
        memcmp(state->prev_time, s + st[F_TIME], (size_t)tlen) == 0) {
        ts = Py_NewRef(state->prev_ts);
    }
    else {
        PyObject *tstr = ascii_str(s + st[F_TIME], tlen);
        if (tstr == NULL)
            goto error;
        ts = PyObject_GetItem(state->ts_cache, tstr);
        Py_DECREF(tstr);
        if (ts == NULL) {
            if (PyErr_ExceptionMatches(PyExc_MemoryError))
                goto error;
            PyErr_Clear(); /* KeyError, or anything else odd: the Python path decides */
            goto python_path;
        }
        if (tlen < (Py_ssize_t)sizeof(state->prev_time)) {
            memcpy(state->prev_time, s + st[F_TIME], (size_t)tlen);
            state->prev_time_len = tlen;
            Py_XSETREF(state->prev_ts, Py_NewRef(ts));
        }
    }

    fields = PyDict_Copy(state->templates[nfields - 9]);
    if (fields == NULL || put_span(fields, state, 0, s, st[F_ADDR], en[F_ADDR]) < 0 ||
        put_span(fields, state, 1, s, st[F_USER], en[F_USER]) < 0 ||
        put_span(fields, state, 2, s, st[F_METHOD], en[F_METHOD]) < 0 ||
        put_span(fields, state, 3, s, st[F_PATH], en[F_PATH]) < 0 ||
        put_span(fields, state, 4, s, st[F_PROTO], en[F_PROTO]) < 0 ||
        put(fields, state, 5, PyLong_FromLong(status)) < 0 ||
        put(fields, state, 6, PyLong_FromLongLong(nbytes)) < 0 ||
        put_span(fields, state, 7, s, st[F_REF], en[F_REF]) < 0 ||
        put_span(fields, state, 8, s, st[F_UA], en[F_UA]) < 0)
        goto error;
    if (rt != NULL) {
        PyObject *v = rt;
        rt = NULL;
        if (put(fields, state, 9, v) < 0)
            goto error;
    }
    if (urt != NULL) {
        PyObject *v = urt;
        urt = NULL;
        if (put(fields, state, 10, v) < 0)
            goto error;
    }

    rec = state->record_type->tp_new(state->record_type, state->empty_args, NULL);
    if (rec == NULL)
        goto error;
    set_slot(rec, state, 0, ts);
    set_slot(rec, state, 1, PyTuple_GET_ITEM(state->levels, status >= 500 ? 2 : status >= 400 ? 1 : 0));
    set_slot(rec, state, 2, line);
    set_slot(rec, state, 3, fields);
    set_slot(rec, state, 4, Py_None);
    Py_DECREF(ts);
    Py_DECREF(fields);
    return rec;

python_path:
    Py_XDECREF(rt);
    Py_XDECREF(urt);
    Py_XDECREF(ts);
    Py_RETURN_NONE;
error:
    Py_XDECREF(rt);
    Py_XDECREF(urt);
    Py_XDECREF(ts);
    Py_XDECREF(fields);
    Py_XDECREF(rec);
    return NULL;
}

PyDoc_STRVAR(scan_combined_doc,
"scan_combined(lines, record_type, ts_cache, levels, keys) -> (records, misses)\n\n"
"Records for the combined-format ASCII lines of a batch; None where the line must be read by\n"
"the Python path. ``record_type`` is parsers.base.Record (five plain slots);\n"
"``ts_cache[time_string]`` gives ns or raises KeyError; ``levels`` is the (info, warning,\n"
"error) level names by status class; ``keys`` the eleven field names in order. ``misses``\n"
"counts the Nones.");

static PyObject *
scan_combined(PyObject *module, PyObject *args)
{
    PyObject *lines, *record_type, *out = NULL;
    ScanState state;
    Py_ssize_t n, i, misses = 0;
    int k;

    memset(&state, 0, sizeof(state));
    state.prev_time_len = -1;
    if (!PyArg_ParseTuple(args, "O!O!OO!O!:scan_combined", &PyList_Type, &lines, &PyType_Type,
                          &record_type, &state.ts_cache, &PyTuple_Type, &state.levels, &PyTuple_Type,
                          &state.keys))
        return NULL;
    state.record_type = (PyTypeObject *)record_type;
    if (PyTuple_GET_SIZE(state.levels) != 3 || PyTuple_GET_SIZE(state.keys) != 11) {
        PyErr_SetString(PyExc_ValueError, "levels must have 3 names and keys 11");
        return NULL;
    }
    for (i = 0; i < 11; i++) {
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(state.keys, i))) {
            PyErr_SetString(PyExc_TypeError, "keys must be str");
            return NULL;
        }
    }
    if (find_record_slots(&state) < 0)
        return NULL;
    state.empty_args = PyTuple_New(0);
    if (state.empty_args == NULL)
        goto error;
    for (k = 0; k < 3; k++) {
        state.templates[k] = PyDict_New();
        if (state.templates[k] == NULL)
            goto error;
        for (i = 0; i < 9 + k; i++) {
            if (PyDict_SetItem(state.templates[k], PyTuple_GET_ITEM(state.keys, i), Py_None) < 0)
                goto error;
        }
    }
    n = PyList_GET_SIZE(lines);
    out = PyList_New(n);
    if (out == NULL)
        goto error;
    for (i = 0; i < n && i < PyList_GET_SIZE(lines); i++) {
        PyObject *line = Py_NewRef(PyList_GET_ITEM(lines, i));
        PyObject *rec = record_for_line(line, &state);
        Py_DECREF(line);
        if (rec == NULL)
            goto error;
        if (rec == Py_None)
            misses++;
        PyList_SET_ITEM(out, i, rec);
    }
    if (i != n) { /* nothing here runs Python code that could shrink it, but never trust that */
        PyErr_SetString(PyExc_RuntimeError, "lines changed during scan_combined");
        goto error;
    }
    Py_DECREF(state.empty_args);
    for (k = 0; k < 3; k++)
        Py_DECREF(state.templates[k]);
    Py_XDECREF(state.prev_ts);
    return Py_BuildValue("(Nn)", out, misses);

error:
    Py_XDECREF(out);
    Py_XDECREF(state.empty_args);
    for (k = 0; k < 3; k++)
        Py_XDECREF(state.templates[k]);
    Py_XDECREF(state.prev_ts);
    return NULL;
}

static PyMethodDef speedups_methods[] = {
    {"scan_combined", scan_combined, METH_VARARGS, scan_combined_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "parsers._speedups",
    .m_doc = "Optional compiled fast paths for parsers (see parsers/nginx.py).",
    .m_size = 0,
    .m_methods = speedups_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
