
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * The reader is a state machine over bytes with a stack of open
 * containers.  Each container has a role: a resource (the answer, or a
 * Bundle entry's resource), an object on a rule's reference path, the
 * Bundle's entry array, an entry, or nothing of interest.  Member names
 * are decoded only inside containers with a role; strings elsewhere are
 * checked (escapes, UTF-8, control characters) and skipped.  A resource
 * is judged when it closes: the answer's verdict is known at the first
 * resource that fails, and is OK only once the whole answer was read.
 *
 * A member the verdict reads (resourceType, entry, resource, a path's
 * member at any depth) that appears twice is refused: readers disagree
 * on which of the two counts.
 */

#include <string.h>

#include "ngx_bluebutton_compartment.h"


enum {
    BB_C_START = 0,
    BB_C_OBJ_FIRST,       /* after "{": a name or "}" */
    BB_C_OBJ_KEY,         /* after ",": a name */
    BB_C_COLON,
    BB_C_VALUE,
    BB_C_ARR_FIRST,       /* after "[": a value or "]" */
    BB_C_AFTER,           /* after a value: "," or a closer */
    BB_C_STRING,
    BB_C_NUMBER,
    BB_C_LITERAL,
    BB_C_END
};

/* container roles */
enum {
    BB_R_NONE = 0,
    BB_R_RESOURCE,
    BB_R_PATH,
    BB_R_ENTRIES,
    BB_R_ENTRY
};

/* what the value after a member name is */
enum {
    BB_M_NONE = 0,
    BB_M_TYPE,
    BB_M_PATH,
    BB_M_ENTRIES,
    BB_M_ENTRY,           /* an element of the entry array */
    BB_M_RESOURCE
};

/* a captured value */
enum {
    BB_V_NONE = 0,
    BB_V_STRING,
    BB_V_NOT_STRING,
    BB_V_LONG
};

/* number states */
enum {
    BB_N_MINUS = 0,
    BB_N_ZERO,
    BB_N_INT,
    BB_N_DOT,
    BB_N_FRAC,
    BB_N_EXP,
    BB_N_EXP_SIGN,
    BB_N_EXP_DIGITS
};

/* escape states */
enum {
    BB_E_NONE = 0,
    BB_E_BACKSLASH,
    BB_E_U1, BB_E_U2, BB_E_U3, BB_E_U4,
    BB_E_LOW_BACKSLASH,   /* a high surrogate wants "\u" and a low one */
    BB_E_LOW_U
};


static int bb_compartment_open(bb_compartment_t *c, int kind);
static int bb_compartment_close(bb_compartment_t *c, int kind);
static int bb_compartment_key(bb_compartment_t *c);
static int bb_compartment_scalar(bb_compartment_t *c, int string);
static int bb_compartment_judge(bb_compartment_t *c, size_t res);
static int bb_compartment_fail(bb_compartment_t *c, int verdict);
static void bb_compartment_put(bb_compartment_t *c, uint32_t cp);
static void bb_compartment_byte(bb_compartment_t *c, unsigned int ch);
static int bb_compartment_hex(int ch);
static int bb_compartment_name_is(const bb_compartment_t *c,
    const char *name);


static const bb_compartment_rule_t  bb_compartment_userinfo = {
    "", { "patient" }, 1, 1
};

/* bytes that end the quick scan of a string: '"', '\\', controls, 8-bit */
static const uint8_t  bb_compartment_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
};


int
bb_compartment_rule(bb_compartment_rule_t *rule, const char *type,
    const char *path, int bare)
{
    size_t       n, len;
    const char  *p, *dot;

    memset(rule, 0, sizeof(bb_compartment_rule_t));

    len = strlen(type);

    if (len == 0 || len > BB_SCOPE_TYPE_MAX) {
        return -1;
    }

    memcpy(rule->type, type, len);

    for (n = 0, p = path; /* void */; n++) {
        dot = strchr(p, '.');
        len = dot ? (size_t) (dot - p) : strlen(p);

        if (n == BB_COMPARTMENT_PATH_MAX || len == 0
            || len > BB_COMPARTMENT_NAME_MAX)
        {
            return -1;
        }

        memcpy(rule->path[n], p, len);

        if (dot == NULL) {
            break;
        }

        p = dot + 1;
    }

    rule->npath = n + 1;
    rule->bare = bare;

    return 0;
}


size_t
bb_compartment_default_rules(bb_compartment_rule_t *rules)
{
    (void) bb_compartment_rule(&rules[0], "Patient", "id", 1);
    (void) bb_compartment_rule(&rules[1], "ExplanationOfBenefit",
                               "patient.reference", 0);
    (void) bb_compartment_rule(&rules[2], "Coverage",
                               "beneficiary.reference", 0);
    return 3;
}


void
bb_compartment_init(bb_compartment_t *c, const bb_compartment_rule_t *rules,
    size_t nrules, int expect, const char *type, const char *patient)
{
    /* the resources are cleared as each one opens */

    memset(c, 0, offsetof(bb_compartment_t, res));

    if (expect == BB_COMPARTMENT_USERINFO) {
        rules = &bb_compartment_userinfo;
        nrules = 1;
    }

    c->rules = rules;
    c->nrules = nrules > BB_COMPARTMENT_RULES_MAX ? BB_COMPARTMENT_RULES_MAX
                                                   : nrules;
    c->expect = expect;
    c->type = type ? type : "";
    c->patient = patient;
    c->patient_len = strlen(patient);
    c->state = BB_C_START;
    c->why[0] = '\0';
}


int
bb_compartment_feed(bb_compartment_t *c, const char *data, size_t len)
{
    int                  rc;
    const uint8_t       *p, *end;
    unsigned int         ch;
    bb_compartment_frame_t  *f;

    if (c->verdict != BB_COMPARTMENT_MORE) {
        return c->verdict;
    }

    p = (const uint8_t *) data;
    end = p + len;

    while (p < end) {
        ch = *p;

        switch (c->state) {

        case BB_C_STRING:

            if (c->esc == BB_E_NONE && c->utf8 == 0) {

                /* the quick scan: most of an answer is in strings */

                if (c->capture) {
                    while (p < end && bb_compartment_plain[*p]) {
                        if (c->len < BB_COMPARTMENT_VALUE_MAX) {
                            c->buf[c->len++] = (char) *p;
                        } else {
                            c->over = 1;
                        }
                        p++;
                    }

                } else {
                    while (p < end && bb_compartment_plain[*p]) {
                        p++;
                    }
                }

                if (p == end) {
                    break;
                }

                ch = *p;
            }

            p++;

            if (c->utf8) {
                if (ch < c->utf8_lo || ch > c->utf8_hi) {
                    return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
                }

                c->utf8_lo = 0x80;
                c->utf8_hi = 0xbf;
                c->utf8--;
                bb_compartment_byte(c, ch);
                break;
            }

            switch (c->esc) {

            case BB_E_NONE:
                break;

            case BB_E_BACKSLASH:
                c->esc = BB_E_NONE;

                switch (ch) {
                case '"': case '\\': case '/':
                    bb_compartment_put(c, ch);
                    continue;
                case 'b': bb_compartment_put(c, '\b'); continue;
                case 'f': bb_compartment_put(c, '\f'); continue;
                case 'n': bb_compartment_put(c, '\n'); continue;
                case 'r': bb_compartment_put(c, '\r'); continue;
                case 't': bb_compartment_put(c, '\t'); continue;
                case 'u':
                    c->esc = BB_E_U1;
                    c->cp = 0;
                    continue;
                }

                return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);

            case BB_E_LOW_BACKSLASH:
                if (ch != '\\') {
                    return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
                }
                c->esc = BB_E_LOW_U;
                continue;

            case BB_E_LOW_U:
                if (ch != 'u') {
                    return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
                }
                c->esc = BB_E_U1;
                c->cp = 0;
                continue;

            default:  /* the four hex digits */
                rc = bb_compartment_hex(ch);
                if (rc < 0) {
                    return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
                }

                c->cp = (c->cp << 4) | (uint32_t) rc;

                if (c->esc != BB_E_U4) {
                    c->esc++;
                    continue;
                }

                c->esc = BB_E_NONE;

                if (c->high) {
                    if (c->cp < 0xdc00 || c->cp > 0xdfff) {
                        return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
                    }

                    c->cp = 0x10000 + ((c->high - 0xd800) << 10)
                            + (c->cp - 0xdc00);
                    c->high = 0;

                } else if (c->cp >= 0xd800 && c->cp <= 0xdbff) {
                    c->high = c->cp;
                    c->esc = BB_E_LOW_BACKSLASH;
                    continue;

                } else if (c->cp >= 0xdc00 && c->cp <= 0xdfff) {
                    return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
                }

                bb_compartment_put(c, c->cp);
                continue;
            }

            if (ch == '"') {
                c->buf[c->len] = '\0';

                if (c->key) {
                    c->state = BB_C_COLON;
                    rc = bb_compartment_key(c);

                } else {
                    c->state = BB_C_AFTER;
                    rc = bb_compartment_scalar(c, 1);
                }

                if (rc != BB_COMPARTMENT_MORE) {
                    return rc;
                }

                break;
            }

            if (ch == '\\') {
                c->esc = BB_E_BACKSLASH;
                break;
            }

            if (ch < 0x20) {
                return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
            }

            /* the lead byte of a UTF-8 sequence, without overlong forms */

            c->utf8_lo = 0x80;
            c->utf8_hi = 0xbf;

            if (ch >= 0xc2 && ch <= 0xdf) {
                c->utf8 = 1;

            } else if (ch >= 0xe0 && ch <= 0xef) {
                c->utf8 = 2;
                if (ch == 0xe0) {
                    c->utf8_lo = 0xa0;
                } else if (ch == 0xed) {
                    c->utf8_hi = 0x9f;     /* no encoded surrogates */
                }

            } else if (ch >= 0xf0 && ch <= 0xf4) {
                c->utf8 = 3;
                if (ch == 0xf0) {
                    c->utf8_lo = 0x90;
                } else if (ch == 0xf4) {
                    c->utf8_hi = 0x8f;
                }

            } else {
                return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
            }

            bb_compartment_byte(c, ch);
            break;

        case BB_C_NUMBER:

            if (ch >= '0' && ch <= '9') {
                switch (c->num) {
                case BB_N_MINUS:
                    c->num = (ch == '0') ? BB_N_ZERO : BB_N_INT;
                    break;
                case BB_N_ZERO:
                    return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
                case BB_N_DOT:
                    c->num = BB_N_FRAC;
                    break;
                case BB_N_EXP:
                case BB_N_EXP_SIGN:
                    c->num = BB_N_EXP_DIGITS;
                    break;
                }

                p++;
                break;
            }

            if (ch == '.' && (c->num == BB_N_ZERO || c->num == BB_N_INT)) {
                c->num = BB_N_DOT;
                p++;
                break;
            }

            if ((ch == 'e' || ch == 'E')
                && (c->num == BB_N_ZERO || c->num == BB_N_INT
                    || c->num == BB_N_FRAC))
            {
                c->num = BB_N_EXP;
                p++;
                break;
            }

            if ((ch == '+' || ch == '-') && c->num == BB_N_EXP) {
                c->num = BB_N_EXP_SIGN;
                p++;
                break;
            }

            if (c->num != BB_N_ZERO && c->num != BB_N_INT
                && c->num != BB_N_FRAC && c->num != BB_N_EXP_DIGITS)
            {
                return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
            }

            /* the number ended: this byte is read again after it */

            c->state = BB_C_AFTER;
            rc = bb_compartment_scalar(c, 0);
            if (rc != BB_COMPARTMENT_MORE) {
                return rc;
            }

            break;

        case BB_C_LITERAL:
            if ((char) ch != *c->lit) {
                return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
            }

            p++;

            if (*++c->lit == '\0') {
                c->state = BB_C_AFTER;
                rc = bb_compartment_scalar(c, 0);
                if (rc != BB_COMPARTMENT_MORE) {
                    return rc;
                }
            }

            break;

        default:

            /* between tokens */

            if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
                p++;
                break;
            }

            p++;

            switch (c->state) {

            case BB_C_START:
                if (ch != '{') {
                    return bb_compartment_fail(c, BB_COMPARTMENT_NOT_OBJECT);
                }

                rc = bb_compartment_open(c, '{');
                if (rc != BB_COMPARTMENT_MORE) {
                    return rc;
                }

                continue;

            case BB_C_END:
                return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);

            case BB_C_OBJ_FIRST:
            case BB_C_OBJ_KEY:
                if (ch == '}' && c->state == BB_C_OBJ_FIRST) {
                    rc = bb_compartment_close(c, '{');
                    if (rc != BB_COMPARTMENT_MORE) {
                        return rc;
                    }
                    continue;
                }

                if (ch != '"') {
                    return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
                }

                f = &c->frames[c->top - 1];

                c->state = BB_C_STRING;
                c->key = 1;
                c->len = 0;
                c->over = 0;

                /* names matter only inside containers with a role */
                c->capture = (f->role != BB_R_NONE);
                continue;

            case BB_C_COLON:
                if (ch != ':') {
                    return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
                }

                c->state = BB_C_VALUE;
                continue;

            case BB_C_AFTER:
                f = &c->frames[c->top - 1];

                if (ch == ',') {
                    c->state = (f->kind == '{') ? BB_C_OBJ_KEY : BB_C_VALUE;
                    continue;
                }

                if (ch != '}' && ch != ']') {
                    return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
                }

                rc = bb_compartment_close(c, (int) ch == '}' ? '{' : '[');
                if (rc != BB_COMPARTMENT_MORE) {
                    return rc;
                }

                continue;

            case BB_C_ARR_FIRST:
                if (ch == ']') {
                    rc = bb_compartment_close(c, '[');
                    if (rc != BB_COMPARTMENT_MORE) {
                        return rc;
                    }
                    continue;
                }

                /* fall through */

            case BB_C_VALUE:
                break;
            }

            /* a value starts */

            switch (ch) {

            case '{':
            case '[':
                rc = bb_compartment_open(c, (int) ch);
                if (rc != BB_COMPARTMENT_MORE) {
                    return rc;
                }
                continue;

            case '"':
                f = &c->frames[c->top - 1];
                c->state = BB_C_STRING;
                c->key = 0;
                c->len = 0;
                c->over = 0;
                c->capture = (f->member == BB_M_TYPE
                              || f->member == BB_M_PATH);
                continue;

            case 't':
                c->lit = "rue";
                c->state = BB_C_LITERAL;
                continue;

            case 'f':
                c->lit = "alse";
                c->state = BB_C_LITERAL;
                continue;

            case 'n':
                c->lit = "ull";
                c->state = BB_C_LITERAL;
                continue;

            case '-':
                c->num = BB_N_MINUS;
                c->state = BB_C_NUMBER;
                continue;
            }

            if (ch >= '0' && ch <= '9') {
                c->num = (ch == '0') ? BB_N_ZERO : BB_N_INT;
                c->state = BB_C_NUMBER;
                continue;
            }

            return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
        }
    }

    c->offset += len;

    return BB_COMPARTMENT_MORE;
}


int
bb_compartment_end(bb_compartment_t *c)
{
    if (c->verdict != BB_COMPARTMENT_MORE) {
        return c->verdict;
    }

    if (c->state == BB_C_START) {
        return bb_compartment_fail(c, BB_COMPARTMENT_NOT_OBJECT);
    }

    if (c->state != BB_C_END) {
        return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
    }

    c->verdict = BB_COMPARTMENT_OK;

    return c->verdict;
}


const char *
bb_compartment_verdict_text(int verdict)
{
    switch (verdict) {
    case BB_COMPARTMENT_MORE:
        return "incomplete";
    case BB_COMPARTMENT_OK:
        return "bound to the patient";
    case BB_COMPARTMENT_SYNTAX:
        return "not JSON";
    case BB_COMPARTMENT_DEEP:
        return "nested too deeply";
    case BB_COMPARTMENT_NOT_OBJECT:
        return "not a JSON object";
    case BB_COMPARTMENT_OTHER:
        return "names another patient";
    case BB_COMPARTMENT_UNBOUND:
        return "names no patient";
    case BB_COMPARTMENT_TYPE:
        return "a resource type the route does not expect";
    case BB_COMPARTMENT_DUPLICATE:
        return "a member the check reads appears twice";
    }

    return "unknown";
}


/*
 * A container opens as a value of the container above (or as the
 * answer itself): its role follows from the member it is the value of.
 */
static int
bb_compartment_open(bb_compartment_t *c, int kind)
{
    size_t                   i, depth;
    uint32_t                 live, leaves;
    bb_compartment_frame_t  *f, *parent;
    bb_compartment_resource_t  *res;

    if (c->top == BB_COMPARTMENT_DEPTH_MAX) {
        return bb_compartment_fail(c, BB_COMPARTMENT_DEEP);
    }

    parent = c->top ? &c->frames[c->top - 1] : NULL;
    f = &c->frames[c->top++];

    memset(f, 0, sizeof(bb_compartment_frame_t));
    f->kind = (uint8_t) kind;
    c->state = (kind == '{') ? BB_C_OBJ_FIRST : BB_C_ARR_FIRST;

    if (parent == NULL) {
        memset(&c->res[0], 0, sizeof(bb_compartment_resource_t));
        f->role = BB_R_RESOURCE;
        f->res = 0;
        f->live = (1u << c->nrules) - 1;
        return BB_COMPARTMENT_MORE;
    }

    switch (parent->member) {

    case BB_M_NONE:
        return BB_COMPARTMENT_MORE;

    case BB_M_TYPE:
        c->res[parent->res].type_bad = 1;
        return BB_COMPARTMENT_MORE;

    case BB_M_ENTRIES:
        if (kind != '[') {
            return bb_compartment_fail(c, BB_COMPARTMENT_TYPE);
        }

        f->role = BB_R_ENTRIES;
        f->member = BB_M_ENTRY;
        return BB_COMPARTMENT_MORE;

    case BB_M_ENTRY:
        if (kind != '{') {
            return bb_compartment_fail(c, BB_COMPARTMENT_TYPE);
        }

        f->role = BB_R_ENTRY;
        return BB_COMPARTMENT_MORE;

    case BB_M_RESOURCE:
        if (kind != '{') {
            return bb_compartment_fail(c, BB_COMPARTMENT_TYPE);
        }

        memset(&c->res[1], 0, sizeof(bb_compartment_resource_t));
        f->role = BB_R_RESOURCE;
        f->res = 1;
        f->live = (1u << c->nrules) - 1;
        return BB_COMPARTMENT_MORE;
    }

    /* BB_M_PATH: rules that end here get no string; the others go on */

    res = &c->res[parent->res];
    depth = parent->depth + 1;
    live = 0;
    leaves = parent->member_live;

    for (i = 0; i < c->nrules; i++) {
        if (!(leaves & (1u << i))) {
            continue;
        }

        if (c->rules[i].npath == depth) {
            res->value_state[i] = BB_V_NOT_STRING;

        } else if (kind == '{') {
            live |= 1u << i;
        }
    }

    if (live) {
        f->role = BB_R_PATH;
        f->res = parent->res;
        f->depth = (uint8_t) depth;
        f->live = live;
    }

    return BB_COMPARTMENT_MORE;
}


static int
bb_compartment_close(bb_compartment_t *c, int kind)
{
    bb_compartment_frame_t  *f;

    f = &c->frames[c->top - 1];

    if (f->kind != kind) {
        return bb_compartment_fail(c, BB_COMPARTMENT_SYNTAX);
    }

    c->top--;
    c->state = c->top ? BB_C_AFTER : BB_C_END;

    if (f->role == BB_R_RESOURCE) {
        return bb_compartment_judge(c, f->res);
    }

    return BB_COMPARTMENT_MORE;
}


/* A member name was read: what its value will be to the verdict. */
static int
bb_compartment_key(bb_compartment_t *c)
{
    size_t                      i, depth;
    uint32_t                    live;
    bb_compartment_frame_t     *f;
    bb_compartment_resource_t  *res;

    f = &c->frames[c->top - 1];
    f->member = BB_M_NONE;

    if (f->role == BB_R_NONE || c->over) {
        return BB_COMPARTMENT_MORE;
    }

    if (f->role == BB_R_ENTRIES) {
        return BB_COMPARTMENT_MORE;
    }

    if (f->role == BB_R_ENTRY) {
        if (bb_compartment_name_is(c, "resource")) {
            if (f->live) {
                return bb_compartment_fail(c, BB_COMPARTMENT_DUPLICATE);
            }

            f->live = 1;
            f->member = BB_M_RESOURCE;
        }

        return BB_COMPARTMENT_MORE;
    }

    res = &c->res[f->res];

    if (f->role == BB_R_RESOURCE) {

        if (bb_compartment_name_is(c, "resourceType")) {
            if (res->type_seen) {
                return bb_compartment_fail(c, BB_COMPARTMENT_DUPLICATE);
            }

            res->type_seen = 1;
            f->member = BB_M_TYPE;
            return BB_COMPARTMENT_MORE;
        }

        if (f->res == 0 && c->expect == BB_COMPARTMENT_SEARCH
            && bb_compartment_name_is(c, "entry"))
        {
            if (res->entries) {
                return bb_compartment_fail(c, BB_COMPARTMENT_DUPLICATE);
            }

            res->entries = 1;
            f->member = BB_M_ENTRIES;
            return BB_COMPARTMENT_MORE;
        }
    }

    /* a member on the path of one or more rules */

    depth = f->depth;
    live = 0;

    for (i = 0; i < c->nrules; i++) {
        if ((f->live & (1u << i))
            && bb_compartment_name_is(c, c->rules[i].path[depth]))
        {
            if (res->seen[i][depth]++) {
                return bb_compartment_fail(c, BB_COMPARTMENT_DUPLICATE);
            }

            live |= 1u << i;
        }
    }

    if (live) {
        f->member = BB_M_PATH;
        f->member_live = live;
    }

    return BB_COMPARTMENT_MORE;
}


/* A string, number or literal ended as the value of the frame's member. */
static int
bb_compartment_scalar(bb_compartment_t *c, int string)
{
    size_t                      i, depth;
    bb_compartment_frame_t     *f;
    bb_compartment_resource_t  *res;

    f = &c->frames[c->top - 1];

    switch (f->member) {

    case BB_M_NONE:
        return BB_COMPARTMENT_MORE;

    case BB_M_ENTRIES:
    case BB_M_ENTRY:
    case BB_M_RESOURCE:
        return bb_compartment_fail(c, BB_COMPARTMENT_TYPE);

    case BB_M_TYPE:
        res = &c->res[f->res];

        if (!string || c->over || c->len > BB_SCOPE_TYPE_MAX) {
            res->type_bad = 1;
            return BB_COMPARTMENT_MORE;
        }

        memcpy(res->type, c->buf, c->len + 1);
        res->type_len = c->len;
        return BB_COMPARTMENT_MORE;
    }

    /* BB_M_PATH */

    res = &c->res[f->res];
    depth = f->depth + 1;

    for (i = 0; i < c->nrules; i++) {
        if (!(f->member_live & (1u << i)) || c->rules[i].npath != depth) {
            continue;
        }

        if (!string) {
            res->value_state[i] = BB_V_NOT_STRING;

        } else if (c->over) {
            res->value_state[i] = BB_V_LONG;

        } else {
            res->value_state[i] = BB_V_STRING;
            memcpy(res->value[i], c->buf, c->len + 1);
            res->value_len[i] = c->len;
        }
    }

    return BB_COMPARTMENT_MORE;
}


/* A resource closed: does it stay inside the patient's compartment? */
static int
bb_compartment_judge(bb_compartment_t *c, size_t n)
{
    size_t                      i, len;
    const char                 *type, *v;
    bb_compartment_resource_t  *res;

    res = &c->res[n];
    type = res->type;

    if (res->type_bad) {
        return bb_compartment_fail(c, BB_COMPARTMENT_TYPE);
    }

    if (c->expect == BB_COMPARTMENT_USERINFO) {
        i = 0;
        goto bound;
    }

    if (!res->type_seen) {
        return bb_compartment_fail(c, BB_COMPARTMENT_TYPE);
    }

    if (strcmp(type, "OperationOutcome") == 0 && !res->entries) {
        /* an error or a search's note: it carries no claims */
        return BB_COMPARTMENT_MORE;
    }

    if (n == 0) {
        switch (c->expect) {

        case BB_COMPARTMENT_OUTCOME:
            return bb_compartment_fail(c, BB_COMPARTMENT_TYPE);

        case BB_COMPARTMENT_SEARCH:
            if (strcmp(type, "Bundle") != 0) {
                return bb_compartment_fail(c, BB_COMPARTMENT_TYPE);
            }

            /* its entries were judged one by one */
            return BB_COMPARTMENT_MORE;

        default:
            if (strcmp(type, c->type) != 0) {
                return bb_compartment_fail(c, BB_COMPARTMENT_TYPE);
            }
        }
    }

    for (i = 0; i < c->nrules; i++) {
        if (strcmp(c->rules[i].type, type) == 0) {
            break;
        }
    }

    if (i == c->nrules) {
        return bb_compartment_fail(c, BB_COMPARTMENT_TYPE);
    }

bound:

    switch (res->value_state[i]) {

    case BB_V_NONE:
    case BB_V_NOT_STRING:
        return bb_compartment_fail(c, BB_COMPARTMENT_UNBOUND);

    case BB_V_LONG:
        return bb_compartment_fail(c, BB_COMPARTMENT_OTHER);
    }

    v = res->value[i];
    len = res->value_len[i];

    if (!c->rules[i].bare) {
        if (len < sizeof("Patient/") - 1
            || memcmp(v, "Patient/", sizeof("Patient/") - 1) != 0)
        {
            goto other;
        }

        v += sizeof("Patient/") - 1;
        len -= sizeof("Patient/") - 1;
    }

    if (len != c->patient_len || memcmp(v, c->patient, len) != 0) {
        goto other;
    }

    c->checked++;

    return BB_COMPARTMENT_MORE;

other:

    /* for the log: what it named, printable characters only */

    for (len = 0; len < res->value_len[i]; len++) {
        c->why[len] = (res->value[i][len] >= 0x20
                       && res->value[i][len] < 0x7f)
                      ? res->value[i][len] : '?';
    }

    c->why[len] = '\0';

    return bb_compartment_fail(c, BB_COMPARTMENT_OTHER);
}


static int
bb_compartment_fail(bb_compartment_t *c, int verdict)
{
    c->verdict = verdict;

    return verdict;
}


/* A byte of the current string as it was sent (UTF-8 checked). */
static void
bb_compartment_byte(bb_compartment_t *c, unsigned int ch)
{
    if (!c->capture) {
        return;
    }

    if (c->len < BB_COMPARTMENT_VALUE_MAX) {
        c->buf[c->len++] = (char) ch;
    } else {
        c->over = 1;
    }
}


/* A character of the current string decoded from an escape. */
static void
bb_compartment_put(bb_compartment_t *c, uint32_t cp)
{
    uint8_t  out[4];
    size_t   n, i;

    if (!c->capture) {
        return;
    }

    if (cp < 0x80) {
        out[0] = (uint8_t) cp;
        n = 1;

    } else if (cp < 0x800) {
        out[0] = (uint8_t) (0xc0 | (cp >> 6));
        out[1] = (uint8_t) (0x80 | (cp & 0x3f));
        n = 2;

    } else if (cp < 0x10000) {
        out[0] = (uint8_t) (0xe0 | (cp >> 12));
        out[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t) (0x80 | (cp & 0x3f));
        n = 3;

    } else {
        out[0] = (uint8_t) (0xf0 | (cp >> 18));
        out[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3f));
        out[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
        out[3] = (uint8_t) (0x80 | (cp & 0x3f));
        n = 4;
    }

    for (i = 0; i < n; i++) {
        if (c->len < BB_COMPARTMENT_VALUE_MAX) {
            c->buf[c->len++] = (char) out[i];
        } else {
            c->over = 1;
        }
    }
}


static int
bb_compartment_hex(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }

    ch |= 0x20;

    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }

    return -1;
}


static int
bb_compartment_name_is(const bb_compartment_t *c, const char *name)
{
    size_t  len;

    len = strlen(name);

    return len == c->len && memcmp(c->buf, name, len) == 0;
}
