
/*
 * Copyright (C) 2026 ngx_bluebutton developers
 */

/*
 * Unit tests for the parts of the module that do not need nginx:
 * scope matching, bounded JSON reading, the record reader, token records,
 * grants, the consent decision, the grant-key memo, what sentinels say
 * of a failover, the bounds on what a Redis reply may announce, Redis
 * Cluster's slots, redirections and maps, introspection answers, the
 * answer check's compartment reader and the backend's search parameters.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_bluebutton_scope.h"
#include "ngx_bluebutton_json.h"
#include "ngx_bluebutton_record.h"
#include "ngx_bluebutton_memo.h"
#include "ngx_bluebutton_consent.h"
#include "ngx_bluebutton_decision.h"
#include "ngx_bluebutton_fhir.h"
#include "ngx_bluebutton_base64url.h"
#include "ngx_bluebutton_keys.h"
#include "ngx_bluebutton_jwt.h"
#include "ngx_bluebutton_entry.h"
#include "ngx_bluebutton_failover.h"
#include "ngx_bluebutton_resp.h"
#include "ngx_bluebutton_slots.h"
#include "ngx_bluebutton_introspect.h"
#include "ngx_bluebutton_compartment.h"
#include "ngx_bluebutton_search.h"

#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>


static int
satisfied(const char *granted, const char *required)
{
    bb_scope_t  req;

    assert_int_equal(bb_scope_parse(required, strlen(required), &req), 0);

    return bb_scope_satisfied(granted, strlen(granted), &req);
}


static void
test_scope_parse_forms(void **state)
{
    bb_scope_t  s;

    (void) state;

    assert_int_equal(bb_scope_parse("patient/Patient.read", 20, &s), 0);
    assert_int_equal(s.context, BB_SCOPE_PATIENT);
    assert_string_equal(s.type, "Patient");
    assert_int_equal(s.perms, BB_PERM_R | BB_PERM_S);

    assert_int_equal(bb_scope_parse("user/*.write", 12, &s), 0);
    assert_int_equal(s.context, BB_SCOPE_USER);
    assert_string_equal(s.type, "*");
    assert_int_equal(s.perms, BB_PERM_C | BB_PERM_U | BB_PERM_D);

    assert_int_equal(bb_scope_parse("system/Coverage.cruds", 21, &s), 0);
    assert_int_equal(s.perms, BB_PERM_ALL);

    assert_int_equal(bb_scope_parse("patient/Coverage.*", 18, &s), 0);
    assert_int_equal(s.perms, BB_PERM_ALL);

    assert_int_equal(bb_scope_parse("patient/Coverage.s", 18, &s), 0);
    assert_int_equal(s.perms, BB_PERM_S);

    assert_int_equal(bb_scope_parse("profile", 7, &s), 0);
    assert_int_equal(s.context, BB_SCOPE_PLAIN);

    /* a slash with another prefix is an ordinary scope */
    assert_int_equal(bb_scope_parse("launch/patient", 14, &s), 0);
    assert_int_equal(s.context, BB_SCOPE_PLAIN);
}


static void
test_scope_parse_rejects(void **state)
{
    bb_scope_t  s;
    char        type[100];

    (void) state;

    assert_int_equal(bb_scope_parse("", 0, &s), -1);
    assert_int_equal(bb_scope_parse("a b", 3, &s), -1);
    assert_int_equal(bb_scope_parse("a\"b", 3, &s), -1);
    assert_int_equal(bb_scope_parse("a\\b", 3, &s), -1);
    assert_int_equal(bb_scope_parse("patient/Patient", 15, &s), -1);
    assert_int_equal(bb_scope_parse("patient/.read", 13, &s), -1);
    assert_int_equal(bb_scope_parse("patient/Patient.", 16, &s), -1);
    assert_int_equal(bb_scope_parse("patient/Patient.rr", 18, &s), -1);
    assert_int_equal(bb_scope_parse("patient/Patient.sr", 18, &s), -1);
    assert_int_equal(bb_scope_parse("patient/Patient.x", 17, &s), -1);
    assert_int_equal(bb_scope_parse("patient/Patient.crudsx", 22, &s), -1);
    assert_int_equal(bb_scope_parse("patient/Pat1ent.read", 20, &s), -1);
    assert_int_equal(bb_scope_parse("patient/Obs.rs?code=1", 21, &s), -1);

    memset(type, 'A', sizeof(type));
    memcpy(type, "patient/", 8);
    memcpy(type + 8 + BB_SCOPE_TYPE_MAX + 1, ".rs", 3);
    assert_int_equal(bb_scope_parse(type, 8 + BB_SCOPE_TYPE_MAX + 4, &s), -1);
}


static void
test_scope_satisfied(void **state)
{
    (void) state;

    assert_true(satisfied("patient/Patient.read", "patient/Patient.read"));
    assert_true(satisfied("patient/Patient.rs", "patient/Patient.read"));
    assert_false(satisfied("patient/Patient.r", "patient/Patient.read"));
    assert_true(satisfied("patient/Patient.r", "patient/Patient.r"));
    assert_true(satisfied("patient/Patient.read", "patient/Patient.r"));
    assert_true(satisfied("patient/Patient.read", "patient/Patient.s"));
    assert_true(satisfied("patient/Patient.r  patient/Patient.s",
                          "patient/Patient.rs"));
    assert_true(satisfied("patient/*.read", "patient/Coverage.rs"));
    assert_true(satisfied("patient/*.r patient/Coverage.s",
                          "patient/Coverage.rs"));
    assert_false(satisfied("patient/Coverage.read", "patient/*.read"));
    assert_true(satisfied("patient/*.read", "patient/*.read"));
    assert_false(satisfied("user/Coverage.read", "patient/Coverage.read"));
    assert_false(satisfied("patient/Coverage.write",
                           "patient/Coverage.read"));
    assert_false(satisfied("patient/Coverage.rs?x=1",
                           "patient/Coverage.r"));
    assert_false(satisfied("", "patient/Coverage.r"));
    assert_false(satisfied("   ", "profile"));
    assert_true(satisfied(" openid  profile ", "profile"));
    assert_false(satisfied("profiles", "profile"));
    assert_false(satisfied("profil", "profile"));
    assert_false(satisfied("patient/profile.read", "profile"));
    assert_false(satisfied("profile", "patient/Patient.read"));

    /* a plain scope is matched whole, never by a prefix */
    assert_false(satisfied("profiles", "profile"));
    assert_false(satisfied("openid2 profile2", "profile"));
    assert_true(satisfied("openid profile", "profile"));

    /* a patient/ scope is of the patient's compartment only: never a
     * user/ or system/ scope, whatever its type or permissions */
    assert_false(satisfied("patient/*.read", "user/Coverage.read"));
    assert_false(satisfied("patient/*.*", "system/Coverage.read"));
    assert_false(satisfied("patient/Coverage.read", "user/Coverage.read"));
    assert_false(satisfied("user/*.read", "patient/Coverage.read"));
    assert_false(satisfied("system/*.read", "user/Coverage.read"));
    assert_true(satisfied("user/*.read", "user/Coverage.read"));
    assert_true(satisfied("system/Coverage.rs", "system/Coverage.read"));
}


static void
test_scope_list_valid(void **state)
{
    (void) state;

    assert_true(bb_scope_list_valid("a b c", 5));
    assert_true(bb_scope_list_valid("", 0));
    assert_false(bb_scope_list_valid("a\tb", 3));
    assert_false(bb_scope_list_valid("a\"b", 3));
}


static void
test_json_depth(void **state)
{
    (void) state;

    assert_true(bb_json_depth_ok("{\"a\":[1,{\"b\":2}]}", 17, 3));
    assert_false(bb_json_depth_ok("{\"a\":[1,{\"b\":2}]}", 17, 2));
    assert_true(bb_json_depth_ok("{\"a\":\"[[[[[[\"}", 14, 1));
    assert_true(bb_json_depth_ok("{\"a\":\"\\\"[[[[\"}", 15, 1));
    assert_false(bb_json_depth_ok("[[[[[[[[[[", 10, 8));
}


static void
test_json_readers(void **state)
{
    char         buf[8];
    json_t      *obj;
    long long    v;
    const char  *err, *json;

    (void) state;

    json = "{\"s\":\"abc\",\"n\":5,\"f\":5.9,\"neg\":-1,"
           "\"ctl\":\"a\\u0001\",\"long\":\"abcdefgh\",\"str\":\"5\"}";
    obj = bb_json_object(json, strlen(json), 1000, 2, &err);
    assert_non_null(obj);

    assert_int_equal(bb_json_string(obj, "s", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "abc");
    assert_int_equal(bb_json_string(obj, "missing", buf, sizeof(buf)), 0);
    assert_int_equal(bb_json_string(obj, "n", buf, sizeof(buf)), -1);
    assert_int_equal(bb_json_string(obj, "ctl", buf, sizeof(buf)), -1);
    assert_int_equal(bb_json_string(obj, "long", buf, sizeof(buf)), -1);

    assert_int_equal(bb_json_seconds(obj, "n", &v), 1);
    assert_int_equal(v, 5);
    assert_int_equal(bb_json_seconds(obj, "f", &v), 1);
    assert_int_equal(v, 5);
    assert_int_equal(bb_json_seconds(obj, "neg", &v), -1);
    assert_int_equal(bb_json_seconds(obj, "str", &v), -1);
    assert_int_equal(bb_json_seconds(obj, "missing", &v), 0);

    json_decref(obj);

    assert_null(bb_json_object("[1]", 3, 1000, 2, &err));
    assert_string_equal(err, "JSON is not an object");
    assert_null(bb_json_object("{", 1, 1000, 2, &err));
    assert_string_equal(err, "not valid JSON");
    assert_null(bb_json_object("{\"a\":1,\"a\":2}", 13, 1000, 2, &err));
    assert_null(bb_json_object("{\"a\":{\"b\":{}}}", 14, 1000, 2, &err));
    assert_string_equal(err, "JSON nested too deeply");
    assert_null(bb_json_object("{\"a\":1}", 7, 6, 2, &err));
    assert_string_equal(err, "JSON too large");
}


/* a record read for members "s" and "n"; returns bb_record_read's result */
static int
record(const char *json, bb_record_member_t *m, const char **err)
{
    static const char *const  names[] = { "s", "n" };

    return bb_record_read(json, strlen(json), 1000, 2, names, m, 2, err);
}


static void
test_json_record(void **state)
{
    char                 buf[16];
    long long            v;
    const char          *err;
    bb_record_member_t   m[2];

    (void) state;

    assert_int_equal(record(" {\"x\":[1,\"]\"],\"y\":{\"s\":2}, \"n\" : 7 ,"
                            "\"s\":\"a\\\"b\\\\c\\/\\u00e9\\ud83d\\ude00\"} ",
                            m, &err), 0);
    assert_int_equal(bb_record_string(&m[0], buf, sizeof(buf)), 1);
    assert_string_equal(buf, "a\"b\\c/\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(bb_record_seconds(&m[1], &v), 1);
    assert_true(v == 7);

    /* names are compared decoded */
    assert_int_equal(record("{\"\\u0073\":\"x\"}", m, &err), 0);
    assert_int_equal(m[0].type, BB_RECORD_STRING);
    assert_int_equal(m[1].type, BB_RECORD_ABSENT);
    assert_int_equal(bb_record_string(&m[1], buf, sizeof(buf)), 0);
    assert_int_equal(bb_record_seconds(&m[1], &v), 0);

    /* a member read twice is ambiguous; one not read may repeat */
    assert_int_equal(record("{\"s\":\"a\",\"\\u0073\":\"b\"}", m, &err), -1);
    assert_string_equal(err, "JSON repeats a member");
    assert_int_equal(record("{\"x\":1,\"x\":2}", m, &err), 0);

    /* values: strings bounded, without control characters */
    assert_int_equal(record("{\"s\":\"0123456789abcdef\"}", m, &err), 0);
    assert_int_equal(bb_record_string(&m[0], buf, sizeof(buf)), -1);
    assert_int_equal(record("{\"s\":\"0123456789abcd\\n\"}", m, &err), 0);
    assert_int_equal(bb_record_string(&m[0], buf, sizeof(buf)), -1);
    assert_int_equal(record("{\"s\":\"0123456789abcd\\/\"}", m, &err), 0);
    assert_int_equal(bb_record_string(&m[0], buf, sizeof(buf)), 1);
    assert_int_equal(record("{\"s\":5}", m, &err), 0);
    assert_int_equal(bb_record_string(&m[0], buf, sizeof(buf)), -1);

    /* numbers: whole seconds, fractions floored, never negative */
    assert_int_equal(record("{\"n\":1.7e3}", m, &err), 0);
    assert_int_equal(bb_record_seconds(&m[1], &v), 1);
    assert_true(v == 1700);
    assert_int_equal(record("{\"n\":-0}", m, &err), 0);
    assert_int_equal(bb_record_seconds(&m[1], &v), 1);
    assert_true(v == 0);
    assert_int_equal(record("{\"n\":-1}", m, &err), 0);
    assert_int_equal(bb_record_seconds(&m[1], &v), -1);
    assert_int_equal(record("{\"n\":9223372036854775808}", m, &err), 0);
    assert_int_equal(bb_record_seconds(&m[1], &v), -1);
    assert_int_equal(record("{\"n\":1e16}", m, &err), 0);
    assert_int_equal(bb_record_seconds(&m[1], &v), -1);
    assert_int_equal(record("{\"n\":null}", m, &err), 0);
    assert_int_equal(m[1].type, BB_RECORD_NULL);
    assert_int_equal(bb_record_seconds(&m[1], &v), -1);

    /* what RFC 8259 and jansson refuse */
    assert_int_equal(record("", m, &err), -1);
    assert_string_equal(err, "not valid JSON");
    assert_int_equal(record("[]", m, &err), -1);
    assert_string_equal(err, "JSON is not an object");
    assert_int_equal(record("{\"a\":{\"b\":[]}}", m, &err), -1);
    assert_string_equal(err, "JSON nested too deeply");
    assert_int_equal(record("{} x", m, &err), -1);
    assert_string_equal(err, "not valid JSON");
    assert_int_equal(record("{\"n\":01}", m, &err), -1);
    assert_int_equal(record("{\"n\":1.}", m, &err), -1);
    assert_int_equal(record("{\"n\":.5}", m, &err), -1);
    assert_int_equal(record("{\"n\":+1}", m, &err), -1);
    assert_int_equal(record("{\"n\":1,}", m, &err), -1);
    assert_int_equal(record("{\"n\":tru}", m, &err), -1);
    assert_int_equal(record("{\"s\":\"\\u0000\"}", m, &err), -1);
    assert_int_equal(record("{\"s\":\"\\ud83d\"}", m, &err), -1);
    assert_int_equal(record("{\"s\":\"\\ude00\"}", m, &err), -1);
    assert_int_equal(record("{\"s\":\"\\x\"}", m, &err), -1);
    assert_int_equal(record("{\"s\":\"\t\"}", m, &err), -1);
    assert_int_equal(record("{\"s\":\"\xc0\xaf\"}", m, &err), -1);
    assert_int_equal(record("{\"s\":\"\xed\xa0\x80\"}", m, &err), -1);
    assert_int_equal(record("{\"s\":\"\xf4\x90\x80\x80\"}", m, &err), -1);
    assert_int_equal(record("{'s':1}", m, &err), -1);

    assert_int_equal(bb_record_read("{}", 2, 1, 2, NULL, m, 0, &err), -1);
    assert_string_equal(err, "JSON too large");
}


static void
test_memo(void **state)
{
    char                    a[65], b[65], c[65];
    const bb_memo_entry_t  *e;

    (void) state;

    /* a and b share a slot (same first three hex digits), c does not */
    memset(a, 'a', 64);
    memcpy(b, a, 64);
    b[63] = 'b';
    memset(c, 'c', 64);
    a[64] = b[64] = c[64] = '\0';

    assert_null(bb_memo_find(a));

    bb_memo_store(a, "app-1", "-1");
    bb_memo_store(c, "app-2", "-2");

    e = bb_memo_find(a);
    assert_non_null(e);
    assert_string_equal(e->client_id, "app-1");
    assert_string_equal(e->patient, "-1");
    assert_null(bb_memo_find(b));

    /* a token taking the slot replaces the one before */
    bb_memo_store(b, "app-3", "-3");
    assert_null(bb_memo_find(a));
    assert_string_equal(bb_memo_find(b)->patient, "-3");

    /* forgetting another token of the slot leaves it alone */
    bb_memo_forget(a);
    assert_non_null(bb_memo_find(b));
    bb_memo_forget(b);
    assert_null(bb_memo_find(b));
    assert_string_equal(bb_memo_find(c)->client_id, "app-2");

    /* values longer than a record may hold are not remembered */
    bb_memo_store(a, "app-1", "-12345678901234567890123456789012345678901"
                              "23456789012345678901234");
    assert_null(bb_memo_find(a));
    bb_memo_forget(c);
}


static void
test_token_record(void **state)
{
    bb_token_t   t;
    const char  *err, *json;

    (void) state;

    json = "{\"patient\":\"-20140000008325\",\"client_id\":\"app-1\","
           "\"app\":\"Sample\",\"scope\":\"patient/Patient.read profile\","
           "\"exp\":2000000000,\"iat\":1700000000}";
    assert_int_equal(bb_token_record_parse(json, strlen(json), &t, &err), 0);
    assert_string_equal(t.patient, "-20140000008325");
    assert_string_equal(t.client_id, "app-1");
    assert_string_equal(t.app, "Sample");
    assert_string_equal(t.scope, "patient/Patient.read profile");
    assert_true(t.exp == 2000000000LL);
    assert_true(t.iat == 1700000000LL);

    json = "{\"patient\":\"1\",\"client_id\":\"c\",\"exp\":5}";
    assert_int_equal(bb_token_record_parse(json, strlen(json), &t, &err), 0);
    assert_string_equal(t.app, "");
    assert_string_equal(t.scope, "");
    assert_true(t.iat == 0);

    json = "{\"patient\":\"a:b\",\"client_id\":\"c\",\"exp\":5}";
    assert_int_equal(bb_token_record_parse(json, strlen(json), &t, &err), -1);
    assert_string_equal(err, "token record has no valid \"patient\"");

    json = "{\"patient\":\"1\",\"client_id\":\"c d\",\"exp\":5}";
    assert_int_equal(bb_token_record_parse(json, strlen(json), &t, &err), -1);

    json = "{\"patient\":\"1\",\"client_id\":\"c\",\"exp\":\"5\"}";
    assert_int_equal(bb_token_record_parse(json, strlen(json), &t, &err), -1);
    assert_string_equal(err, "token record has no valid \"exp\"");

    json = "{\"patient\":\"1\",\"client_id\":\"c\"}";
    assert_int_equal(bb_token_record_parse(json, strlen(json), &t, &err), -1);

    json = "{\"patient\":\"1\",\"client_id\":\"c\",\"exp\":5,\"scope\":7}";
    assert_int_equal(bb_token_record_parse(json, strlen(json), &t, &err), -1);

    json = "{\"patient\":\"1\",\"client_id\":\"c\",\"exp\":5,\"iat\":true}";
    assert_int_equal(bb_token_record_parse(json, strlen(json), &t, &err), -1);

    json = "{\"patient\":1,\"client_id\":\"c\",\"exp\":5}";
    assert_int_equal(bb_token_record_parse(json, strlen(json), &t, &err), -1);

    json = "not json";
    assert_int_equal(bb_token_record_parse(json, strlen(json), &t, &err), -1);
    assert_string_equal(err, "not valid JSON");
}


static void
test_grant(void **state)
{
    bb_grant_t   g;
    const char  *err, *json;

    (void) state;

    json = "{\"created\":100,\"expires\":200,"
           "\"data_access_type\":\"THIRTEEN_MONTH\"}";
    assert_int_equal(bb_grant_parse(json, strlen(json), &g, &err), 0);
    assert_true(g.created == 100 && g.expires == 200);
    assert_int_equal(g.access, BB_ACCESS_THIRTEEN_MONTH);
    assert_string_equal(bb_access_name(g.access), "THIRTEEN_MONTH");

    json = "{\"created\":100,\"expires\":null}";
    assert_int_equal(bb_grant_parse(json, strlen(json), &g, &err), 0);
    assert_true(g.expires == 0);
    assert_int_equal(g.access, BB_ACCESS_UNKNOWN);
    assert_null(bb_access_name(g.access));

    /* a name the Blue Button server does not use decides nothing */
    json = "{\"created\":100,\"data_access_type\":\"ONE_TIMEX\"}";
    assert_int_equal(bb_grant_parse(json, strlen(json), &g, &err), 0);
    assert_int_equal(g.access, BB_ACCESS_UNKNOWN);
    json = "{\"created\":100,\"data_access_type\":\"RESEARCH_STUDY\"}";
    assert_int_equal(bb_grant_parse(json, strlen(json), &g, &err), 0);
    assert_int_equal(g.access, BB_ACCESS_RESEARCH_STUDY);

    json = "{\"created\":100}";
    assert_int_equal(bb_grant_parse(json, strlen(json), &g, &err), 0);

    json = "{\"expires\":100}";
    assert_int_equal(bb_grant_parse(json, strlen(json), &g, &err), -1);

    json = "{\"created\":100,\"expires\":\"never\"}";
    assert_int_equal(bb_grant_parse(json, strlen(json), &g, &err), -1);

    json = "{\"created\":100,\"data_access_type\":1}";
    assert_int_equal(bb_grant_parse(json, strlen(json), &g, &err), -1);
}


static void
test_decide(void **state)
{
    bb_grant_t   g;
    bb_token_t   t;
    const char  *why;

    (void) state;

    memset(&t, 0, sizeof(t));
    t.exp = 1000;
    t.iat = 500;
    g.created = 400;
    g.expires = 0;

    assert_int_equal(bb_consent_decide(&t, &g, 900, 0, &why),
                     BB_DECISION_ALLOW);
    assert_int_equal(bb_consent_decide(&t, &g, 1000, 0, &why),
                     BB_DECISION_TOKEN_EXPIRED);
    assert_int_equal(bb_consent_decide(&t, &g, 1000, 30, &why),
                     BB_DECISION_ALLOW);
    assert_int_equal(bb_consent_decide(&t, NULL, 900, 0, &why),
                     BB_DECISION_CONSENT_REVOKED);

    g.expires = 900;
    assert_int_equal(bb_consent_decide(&t, &g, 900, 0, &why),
                     BB_DECISION_CONSENT_EXPIRED);
    assert_int_equal(bb_consent_decide(&t, &g, 899, 0, &why),
                     BB_DECISION_ALLOW);

    g.expires = 0;
    g.created = 501;
    assert_int_equal(bb_consent_decide(&t, &g, 900, 0, &why),
                     BB_DECISION_TOKEN_SUPERSEDED);

    /* the leeway is for clocks, not for consent given again: a token
     * issued a second before the new grant is superseded, leeway or not */
    assert_int_equal(bb_consent_decide(&t, &g, 900, 30, &why),
                     BB_DECISION_TOKEN_SUPERSEDED);
    g.created = 500;
    assert_int_equal(bb_consent_decide(&t, &g, 900, 30, &why),
                     BB_DECISION_ALLOW);
    g.created = 501;

    /* a record that does not say when it was issued cannot be compared */
    t.iat = 0;
    assert_int_equal(bb_consent_decide(&t, &g, 900, 0, &why),
                     BB_DECISION_ALLOW);

    /* expiry is checked before consent: the cheaper answer first */
    assert_int_equal(bb_consent_decide(&t, NULL, 2000, 0, &why),
                     BB_DECISION_TOKEN_EXPIRED);
}


static void
test_ids(void **state)
{
    (void) state;

    assert_true(bb_patient_id_valid("-20140000008325", 15));
    assert_true(bb_patient_id_valid("A.b-9", 5));
    assert_false(bb_patient_id_valid("", 0));
    assert_false(bb_patient_id_valid("a/b", 3));
    assert_false(bb_patient_id_valid("a:b", 3));
    assert_false(bb_patient_id_valid("a b", 3));

    assert_true(bb_client_id_valid("app-1:x", 7));
    assert_false(bb_client_id_valid("a b", 3));
    assert_false(bb_client_id_valid("a\x7f", 2));
    assert_false(bb_client_id_valid("a\"b", 3));
    assert_false(bb_client_id_valid("a\\b", 3));
    assert_false(bb_client_id_valid("", 0));
}


static void
test_decision_names(void **state)
{
    (void) state;

    assert_string_equal(bb_decision_name(BB_DECISION_NONE), "");
    assert_string_equal(bb_decision_name(BB_DECISION_ALLOW), "allow");
    assert_string_equal(bb_decision_name(BB_DECISION_CONSENT_REVOKED),
                        "consent_revoked");
    assert_string_equal(bb_decision_name(BB_DECISION_UNAVAILABLE),
                        "unavailable");
    assert_string_equal(bb_decision_name((bb_decision_t) 1000), "");

    /* the causes: one word each, the decision's name where none is known */
    assert_string_equal(bb_refusal_cause(BB_DECISION_ALLOW, NULL), "");
    assert_string_equal(bb_refusal_cause(BB_DECISION_INVALID_TOKEN,
                            "The access token's signature is not valid"),
                        "bad_signature");
    assert_string_equal(bb_refusal_cause(BB_DECISION_INVALID_TOKEN,
                            "The access token's key id is not known"),
                        "kid_unknown");
    assert_string_equal(bb_refusal_cause(BB_DECISION_INVALID_REQUEST,
                            "The request carries no bearer token"),
                        "no_token");
    assert_string_equal(bb_refusal_cause(BB_DECISION_INSUFFICIENT_SCOPE,
                                         "anything"), "missing_scope");
    assert_string_equal(bb_refusal_cause(BB_DECISION_CONSENT_REVOKED,
                            "The beneficiary revoked this application's "
                            "access"), "consent_revoked");
    assert_string_equal(bb_refusal_cause(BB_DECISION_INVALID_TOKEN, NULL),
                        "invalid_token");
}


static const char  *types[] = { "Patient", "Coverage", "ExplanationOfBenefit" };


static int
route(const char *path, bb_fhir_route_t *r)
{
    return bb_fhir_route(path, strlen(path), types, 3, r);
}


static void
test_fhir_routes(void **state)
{
    bb_fhir_route_t  r;

    (void) state;

    assert_int_equal(route("/v2/fhir/Patient", &r), BB_FHIR_SEARCH);
    assert_string_equal(r.type, "Patient");
    assert_int_equal(route("/v1/fhir/ExplanationOfBenefit/", &r),
                     BB_FHIR_SEARCH);
    assert_int_equal(route("/v3/fhir/Coverage/part-a-1", &r), BB_FHIR_READ);
    assert_string_equal(r.id, "part-a-1");
    assert_int_equal(route("/v2/fhir/metadata", &r), BB_FHIR_PUBLIC);
    assert_int_equal(route("/.well-known/smart-configuration", &r),
                     BB_FHIR_PUBLIC);
    assert_int_equal(route("/v2/connect/userinfo", &r), BB_FHIR_USERINFO);

    assert_int_equal(route("/v4/fhir/Patient", &r), BB_FHIR_UNKNOWN);
    assert_int_equal(route("/v2/fhir/Observation", &r), BB_FHIR_UNKNOWN);
    assert_int_equal(route("/v2/fhir/patient", &r), BB_FHIR_UNKNOWN);
    assert_int_equal(route("/v2/fhir/PatientX", &r), BB_FHIR_UNKNOWN);
    assert_int_equal(route("/v2/fhir/Patient/a/b", &r), BB_FHIR_UNKNOWN);
    assert_int_equal(route("/v2/fhir/Patient/a b", &r), BB_FHIR_UNKNOWN);
    assert_int_equal(route("/v2/fhir/metadata/x", &r), BB_FHIR_UNKNOWN);
    assert_int_equal(route("/v2/connect/userinfo/", &r), BB_FHIR_UNKNOWN);
    assert_int_equal(route("/v2/fhir", &r), BB_FHIR_UNKNOWN);
    assert_int_equal(route("/v2", &r), BB_FHIR_UNKNOWN);
    assert_int_equal(route("", &r), BB_FHIR_UNKNOWN);
}


static void
test_fhir_required_scope(void **state)
{
    bb_scope_t       s;
    bb_fhir_route_t  r;

    (void) state;

    route("/v2/fhir/Coverage/x", &r);
    assert_int_equal(bb_fhir_required_scope(&r, &s), 0);
    assert_int_equal(s.perms, BB_PERM_R);
    assert_string_equal(s.type, "Coverage");

    route("/v2/fhir/Coverage", &r);
    assert_int_equal(bb_fhir_required_scope(&r, &s), 0);
    assert_int_equal(s.perms, BB_PERM_S);

    route("/v2/connect/userinfo", &r);
    assert_int_equal(bb_fhir_required_scope(&r, &s), 0);
    assert_int_equal(s.context, BB_SCOPE_PLAIN);
    assert_true(s.len == 7 && memcmp(s.text, "profile", 7) == 0);

    route("/v2/fhir/metadata", &r);
    assert_int_equal(bb_fhir_required_scope(&r, &s), -1);

    assert_string_equal(bb_fhir_patient_param("Patient"), "_id");
    assert_string_equal(bb_fhir_patient_param("Coverage"), "beneficiary");
    assert_string_equal(bb_fhir_patient_param("ExplanationOfBenefit"),
                        "patient");
}


static int
bind(const char *args, const char *param)
{
    return bb_fhir_query_bind(args, strlen(args), param, "-1");
}


static void
test_fhir_query_bind(void **state)
{
    (void) state;

    assert_int_equal(bind("", "patient"), BB_FHIR_BIND_ABSENT);
    assert_int_equal(bind("_count=1&type=carrier", "patient"),
                     BB_FHIR_BIND_ABSENT);
    assert_int_equal(bind("patient=-1", "patient"), BB_FHIR_BIND_MATCH);
    assert_int_equal(bind("patient=Patient/-1", "patient"),
                     BB_FHIR_BIND_MATCH);
    assert_int_equal(bind("patient=Patient%2F-1", "patient"),
                     BB_FHIR_BIND_MATCH);
    assert_int_equal(bind("patient=%2D1&patient=-1", "patient"),
                     BB_FHIR_BIND_MATCH);
    assert_int_equal(bind("patient=-1,-1", "patient"), BB_FHIR_BIND_MATCH);

    /* the patient's id exactly: one that only starts with it is another */
    assert_int_equal(bind("patient=-10", "patient"), BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient=Patient/-10", "patient"),
                     BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient=-2", "patient"), BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient=-1&patient=-2", "patient"),
                     BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient=-1,-2", "patient"),
                     BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient=", "patient"), BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient", "patient"), BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient=-1,", "patient"), BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient=Patient/", "patient"),
                     BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient=Group/-1", "patient"),
                     BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient:missing=true", "patient"),
                     BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patient.name=x", "patient"),
                     BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("%70atient=-2", "patient"),
                     BB_FHIR_BIND_MISMATCH);
    assert_int_equal(bind("patients=-2", "patient"), BB_FHIR_BIND_ABSENT);
    assert_int_equal(bind("patient-name=x", "patient"), BB_FHIR_BIND_ABSENT);

    /* names a lenient backend could read as the patient's */
    assert_int_equal(bind("Patient=-2", "patient"), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("PATIENT=-1", "patient"), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("x=1;patient=-2", "patient"), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("x=1;y=2", NULL), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("patient%00=-2", "patient"), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("patient[]=-2", "patient"), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("patient%5B%5D=-2", "patient"), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("patient%20=-2", "patient"), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("%20patient=-2", "patient"), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("%09Patient=-2", "patient"), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("Patient:missing=true", "patient"),
                     BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("Beneficiary=-2", "beneficiary"),
                     BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("_ID=-2", "_id"), BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("patient=-1&Patient=-1", "patient"),
                     BB_FHIR_AMBIGUOUS);
    assert_int_equal(bind("access_token=x", NULL), BB_FHIR_ACCESS_TOKEN);
    assert_int_equal(bind("a=1&access%5Ftoken=x", "patient"),
                     BB_FHIR_ACCESS_TOKEN);
    assert_int_equal(bind("a=%zz", NULL), BB_FHIR_BAD_QUERY);
    assert_int_equal(bind("a=%2", NULL), BB_FHIR_BAD_QUERY);
    assert_int_equal(bind("a=%", NULL), BB_FHIR_BAD_QUERY);
}


static void
test_url_decode(void **state)
{
    char  out[8];

    (void) state;

    assert_int_equal(bb_url_decode("a%20b+c", 7, out, sizeof(out)), 5);
    assert_memory_equal(out, "a b c", 5);
    assert_int_equal(bb_url_decode("%41", 3, out, sizeof(out)), 1);
    assert_int_equal(out[0], 'A');
    assert_int_equal(bb_url_decode("%4", 2, out, sizeof(out)), -1);
    assert_int_equal(bb_url_decode("%g1", 3, out, sizeof(out)), -1);
    assert_int_equal(bb_url_decode("123456789", 9, out, sizeof(out)), -1);
}


static void
test_base64url(void **state)
{
    long           n;
    unsigned char  out[16];

    (void) state;

    n = bb_base64url_decode("aGVsbG8", 7, out, sizeof(out));
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    assert_int_equal(bb_base64url_decode("", 0, out, sizeof(out)), 0);
    assert_int_equal(bb_base64url_decode("-_8", 3, out, sizeof(out)), 2);
    assert_int_equal(out[0], 0xfb);
    assert_int_equal(out[1], 0xff);

    /* padding, the standard alphabet, a lone char, stray bits, overflow */
    assert_int_equal(bb_base64url_decode("aGVsbG8=", 8, out, sizeof(out)),
                     -1);
    assert_int_equal(bb_base64url_decode("+/8", 3, out, sizeof(out)), -1);
    assert_int_equal(bb_base64url_decode("aGVsb", 5, out, sizeof(out)), -1);
    assert_int_equal(bb_base64url_decode("aGVsbG9", 7, out, sizeof(out)),
                     -1);
    assert_int_equal(bb_base64url_decode("aGVsbG8", 7, out, 4), -1);
    assert_int_equal(bb_base64url_decode("aGV sbG8", 8, out, sizeof(out)),
                     -1);
}


static void
b64url(const unsigned char *in, size_t len, char *out)
{
    int     n;
    size_t  i, k;

    n = EVP_EncodeBlock((unsigned char *) out, in, (int) len);

    for (i = 0, k = 0; i < (size_t) n; i++) {
        if (out[i] == '=') {
            break;
        }

        out[k++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }

    out[k] = '\0';
}


/* an HS256 token over the given header and claims */
static void
hs256(const char *secret, const char *header, const char *claims,
    char *token)
{
    char           sig[128];
    unsigned int   n;
    unsigned char  mac[64];

    b64url((const unsigned char *) header, strlen(header), token);
    strcat(token, ".");
    b64url((const unsigned char *) claims, strlen(claims),
           token + strlen(token));

    HMAC(EVP_sha256(), secret, (int) strlen(secret),
         (unsigned char *) token, strlen(token), mac, &n);

    b64url(mac, n, sig);
    strcat(token, ".");
    strcat(token, sig);
}


static void
test_jwt(void **state)
{
    int               rc;
    char              token[2048], junk[512], jwks[256], k[128];
    bb_token_t        t;
    bb_keyset_t       set;
    const char       *why, *secret;
    bb_jwt_policy_t   policy;

    (void) state;

    secret = "0123456789abcdef0123456789abcdef0123";
    b64url((const unsigned char *) secret, strlen(secret), k);
    snprintf(jwks, sizeof(jwks),
             "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"%s\"}]}", k);

    memset(&set, 0, sizeof(set));
    assert_int_equal(bb_keyset_parse(jwks, strlen(jwks), &set, k,
                                     sizeof(k)), 0);
    assert_int_equal(set.n, 1);

    policy.algorithms = BB_ALG_HS256;
    policy.leeway = 30;
    policy.issuer = "iss";
    policy.audience = "api";

    hs256(secret, "{\"alg\":\"HS256\",\"kid\":\"hs\"}",
          "{\"iss\":\"iss\",\"aud\":[\"x\",\"api\"],\"sub\":\"-1\","
          "\"client_id\":\"c\",\"scope\":\"profile\",\"exp\":2000,"
          "\"iat\":900,\"jti\":\"j1\"}", token);

    assert_true(bb_jwt_looks_like(token, strlen(token)));
    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 1000, &t, &why);
    assert_int_equal(rc, BB_DECISION_ALLOW);
    assert_string_equal(t.patient, "-1");
    assert_string_equal(t.client_id, "c");
    assert_string_equal(t.scope, "profile");
    assert_string_equal(t.jti, "j1");
    assert_true(t.iat == 900 && t.exp == 2000);

    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 2030, &t, &why);
    assert_int_equal(rc, BB_DECISION_TOKEN_EXPIRED);

    /* an audience required: a token without "aud" is not for it */
    hs256(secret, "{\"alg\":\"HS256\",\"kid\":\"hs\"}",
          "{\"iss\":\"iss\",\"sub\":\"-1\",\"client_id\":\"c\","
          "\"exp\":2000}", junk);
    rc = bb_jwt_verify(junk, strlen(junk), &set, &policy, 1000, &t, &why);
    assert_int_equal(rc, BB_DECISION_INVALID_TOKEN);
    assert_string_equal(why, "The access token is meant for another audience");

    /* nbf: not before, within the leeway */
    hs256(secret, "{\"alg\":\"HS256\",\"kid\":\"hs\"}",
          "{\"iss\":\"iss\",\"aud\":\"api\",\"sub\":\"-1\","
          "\"client_id\":\"c\",\"exp\":2000,\"nbf\":1100}", junk);
    rc = bb_jwt_verify(junk, strlen(junk), &set, &policy, 1069, &t, &why);
    assert_string_equal(why, "The access token is not valid yet");
    rc = bb_jwt_verify(junk, strlen(junk), &set, &policy, 1070, &t, &why);
    assert_int_equal(rc, BB_DECISION_ALLOW);

    /* what a refusal logs of a token, and the claims of a verified one */
    {
        char  seen_kid[16], seen_iss[16], claim[8];

        assert_int_equal(bb_jwt_peek(token, strlen(token), seen_kid,
                                     sizeof(seen_kid), seen_iss,
                                     sizeof(seen_iss)), 0);
        assert_string_equal(seen_kid, "hs");
        assert_string_equal(seen_iss, "iss");
        assert_int_equal(bb_jwt_peek("a.b", 3, seen_kid, sizeof(seen_kid),
                                     seen_iss, sizeof(seen_iss)), -1);

        /* the iss alone, the header not read */
        seen_iss[0] = 'x';
        assert_int_equal(bb_jwt_peek(token, strlen(token), NULL, 0, seen_iss,
                                     sizeof(seen_iss)), 0);
        assert_string_equal(seen_iss, "iss");
        assert_int_equal(bb_jwt_claim(token, strlen(token), "sub", claim,
                                      sizeof(claim)), 2);
        assert_memory_equal(claim, "-1", 2);
        assert_int_equal(bb_jwt_claim(token, strlen(token), "exp", claim,
                                      sizeof(claim)), 4);
        assert_memory_equal(claim, "2000", 4);
        assert_int_equal(bb_jwt_claim(token, strlen(token), "aud", claim,
                                      sizeof(claim)), -1);
        assert_int_equal(bb_jwt_claim(token, strlen(token), "client_id",
                                      claim, 1), -1);
        assert_int_equal(bb_jwt_claim(token, strlen(token), "none", claim,
                                      sizeof(claim)), -1);
    }

    /*
     * an optional header parameter left out is absent, whatever the token
     * verified before had: a junk token's "typ" must not stay behind
     */
    hs256(secret, "{\"alg\":\"HS256\",\"kid\":\"hs\",\"typ\":\"EVIL\"}",
          "{\"exp\":2000}", junk);
    rc = bb_jwt_verify(junk, strlen(junk), &set, &policy, 1000, &t, &why);
    assert_string_equal(why, "The access token has an unexpected type");
    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 1000, &t, &why);
    assert_int_equal(rc, BB_DECISION_ALLOW);

    /* one changed byte of the signature */
    token[strlen(token) - 2] ^= 1;
    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 1000, &t, &why);
    assert_int_equal(rc, BB_DECISION_INVALID_TOKEN);
    assert_false(bb_jwt_key_unknown(why));

    /* a key id the set lacks: the one refusal new keys could change */
    hs256(secret, "{\"alg\":\"HS256\",\"kid\":\"next\"}", "{\"exp\":2000}",
          token);
    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 1000, &t, &why);
    assert_int_equal(rc, BB_DECISION_INVALID_TOKEN);
    assert_true(bb_jwt_key_unknown(why));
    assert_string_equal(why, "The access token's key id is not known");

    /* the algorithm must be allowed */
    policy.algorithms = BB_ALG_DEFAULT;
    hs256(secret, "{\"alg\":\"HS256\"}", "{\"exp\":2000}", token);
    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 1000, &t, &why);
    assert_int_equal(rc, BB_DECISION_INVALID_TOKEN);
    assert_string_equal(why, "The access token's algorithm is not accepted");

    policy.algorithms = BB_ALG_HS256;

    hs256(secret, "{\"alg\":\"none\"}", "{\"exp\":2000}", token);
    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 1000, &t, &why);
    assert_string_equal(why, "The access token's algorithm is not accepted");

    hs256(secret, "{\"alg\":\"HS256\",\"crit\":[\"b64\"]}",
          "{\"exp\":2000}", token);
    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 1000, &t, &why);
    assert_string_equal(why,
                        "The access token has critical header parameters");

    hs256(secret, "{\"alg\":\"HS256\",\"kid\":7}", "{\"exp\":2000}",
          token);
    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 1000, &t, &why);
    assert_string_equal(why, "The access token has an invalid key id");

    hs256(secret, "{\"alg\":\"HS256\"}", "{\"exp\":2000,\"sub\":\"-1\","
          "\"client_id\":\"c\",\"iss\":\"other\"}", token);
    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 1000, &t, &why);
    assert_string_equal(why, "The access token is from another issuer");

    assert_false(bb_jwt_looks_like("a.b", 3));
    assert_false(bb_jwt_looks_like("a.b.c.d", 7));
    assert_true(bb_jwt_looks_like("a.b.c.d.e", 9));
    assert_false(bb_jwt_looks_like("a.b.c+", 6));

    bb_keyset_free(&set);
}


/*
 * Whatever OpenSSL refuses while keys are read or signatures checked is
 * drained before the call returns: the worker's next TLS call would
 * otherwise report it as its own.
 */
static void
test_openssl_errors_drained(void **state)
{
    int              rc;
    BIO             *bio;
    char             pem[1024], err[256], token[512], sig[128];
    long             len;
    EVP_PKEY        *pkey;
    bb_token_t       t;
    bb_keyset_t      set;
    const char      *why, *jwks;
    unsigned char    ff[64];
    bb_jwt_policy_t  policy;

    (void) state;

    pkey = EVP_EC_gen("P-256");
    assert_non_null(pkey);
    bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
    len = BIO_read(bio, pem, sizeof(pem) - 1);
    assert_true(len > 0);
    pem[len] = '\0';
    BIO_free(bio);
    EVP_PKEY_free(pkey);

    /* reading PEM ends on "no start line", each time */
    ERR_clear_error();
    memset(&set, 0, sizeof(set));
    assert_int_equal(bb_keyset_parse(pem, strlen(pem), &set, err,
                                     sizeof(err)), 0);
    assert_int_equal(ERR_peek_error(), 0);

    /* r and s over the curve's order: ECDSA refuses them with an error */
    memset(ff, 0xff, sizeof(ff));
    b64url((const unsigned char *) "{\"alg\":\"ES256\"}", 15, token);
    strcat(token, ".");
    b64url((const unsigned char *) "{\"exp\":2000}", 12,
           token + strlen(token));
    b64url(ff, sizeof(ff), sig);
    strcat(token, ".");
    strcat(token, sig);

    policy.algorithms = BB_ALG_ES256;
    policy.leeway = 0;
    policy.issuer = NULL;
    policy.audience = NULL;

    rc = bb_jwt_verify(token, strlen(token), &set, &policy, 1000, &t, &why);
    assert_int_equal(rc, BB_DECISION_INVALID_TOKEN);
    assert_int_equal(ERR_peek_error(), 0);
    bb_keyset_free(&set);

    /* a point off the curve: the key is refused, and nothing is left */
    jwks = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
           "\"x\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\","
           "\"y\":\"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE\"}]}";
    assert_int_equal(bb_keyset_parse(jwks, strlen(jwks), &set, err,
                                     sizeof(err)), -1);
    assert_int_equal(ERR_peek_error(), 0);
}


static void
test_keys_refused(void **state)
{
    char         err[256];
    bb_keyset_t  set;
    const char  *jwks;

    (void) state;

    memset(&set, 0, sizeof(set));

    jwks = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2hvcnQ\"}]}";
    assert_int_equal(bb_keyset_parse(jwks, strlen(jwks), &set, err,
                                     sizeof(err)), -1);
    assert_non_null(strstr(err, "shorter than 32 bytes"));

    jwks = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"AQAB\","
           "\"e\":\"AQAB\",\"d\":\"AQAB\"}]}";
    assert_int_equal(bb_keyset_parse(jwks, strlen(jwks), &set, err,
                                     sizeof(err)), -1);
    assert_string_equal(err, "key #1 (kid \"a\"): holds private key material");

    jwks = "{\"keys\":[{\"kty\":\"XYZ\"}]}";
    assert_int_equal(bb_keyset_parse(jwks, strlen(jwks), &set, err,
                                     sizeof(err)), -1);

    jwks = "{\"keys\":[]}";
    assert_int_equal(bb_keyset_parse(jwks, strlen(jwks), &set, err,
                                     sizeof(err)), -1);
    assert_string_equal(err, "is an empty key set: \"keys\" lists none");

    /* one kid for two keys: which one a token means is not known */
    jwks = "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
           "\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIz\"},"
           "{\"kty\":\"oct\",\"kid\":\"a\","
           "\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTI0\"}]}";
    assert_int_equal(bb_keyset_parse(jwks, strlen(jwks), &set, err,
                                     sizeof(err)), -1);
    assert_string_equal(err, "has two keys with kid \"a\" (#1 and #2)");
    assert_int_equal(set.n, 0);

    /* what a key set can verify: an HMAC key, HS* only */
    jwks = "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\","
           "\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIz\"}]}";
    assert_int_equal(bb_keyset_parse(jwks, strlen(jwks), &set, err,
                                     sizeof(err)), 0);
    assert_int_equal(bb_jwt_keyset_algorithms(&set),
                     BB_ALG_HS256 | BB_ALG_HS384 | BB_ALG_HS512);
    bb_keyset_free(&set);

    jwks = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert_int_equal(bb_keyset_parse(jwks, strlen(jwks), &set, err,
                                     sizeof(err)), -1);
    assert_string_equal(err, "holds a private key");

    assert_int_equal(set.n, 0);
}



/* what the cache keeps of a token reads back as it was, and decides alike */
static void
test_entry(void **state)
{
    size_t          n;
    bb_entry_t      e, back;
    const char     *why, *why2;
    unsigned char   buf[sizeof(bb_entry_t) + 64];

    (void) state;

    memset(&e, 0, sizeof(e));
    e.kind = BB_ENTRY_OPAQUE;
    e.found = 1;
    e.granted = 1;
    e.grant.created = 1700000000;
    e.grant.expires = 1800000000;
    e.grant.access = BB_ACCESS_ONE_TIME;
    strcpy(e.token.patient, "-20140000008325");
    strcpy(e.token.client_id, "app-1");
    strcpy(e.token.app, "Caf\xc3\xa9 app");
    strcpy(e.token.scope, "patient/Patient.read profile");
    e.token.exp = 1750000000;
    e.token.iat = 1700000001;

    n = bb_entry_size(&e);
    assert_int_equal(bb_entry_pack(&e, buf), n);
    assert_true(n < 200);

    /* unpack writes each member and each string up to its NUL, no more */
    memset(&back, 0, sizeof(back));
    assert_int_equal(bb_entry_unpack(buf, n, &back), 0);
    assert_memory_equal(&e, &back, sizeof(e));

    assert_int_equal(bb_entry_decide(&back, 1710000000, 0, &why),
                     BB_DECISION_ALLOW);
    assert_int_equal(bb_entry_decide(&back, 1750000000, 0, &why),
                     BB_DECISION_TOKEN_EXPIRED);
    assert_int_equal(bb_entry_decide(&back, 1750000000, 30, &why),
                     BB_DECISION_ALLOW);
    assert_int_equal(bb_entry_ends(&back), 1750000000);

    /* an access type out of its range is bytes it did not write */
    buf[4 + 32 + 7] = 4;
    assert_int_equal(bb_entry_unpack(buf, n, &back), -1);
    buf[4 + 32 + 7] = BB_ACCESS_ONE_TIME;

    /* every byte cut or added is refused */
    assert_int_equal(bb_entry_unpack(buf, n - 1, &back), -1);
    assert_int_equal(bb_entry_unpack(buf, n + 1, &back), -1);
    assert_int_equal(bb_entry_unpack(buf, 10, &back), -1);

    /* the grant's end comes first */
    e.grant.expires = 1720000000;
    assert_int_equal(bb_entry_ends(&e), 1720000000);

    /* no grant: revoked consent, as bb_consent_decide says */
    e.granted = 0;
    n = bb_entry_pack(&e, buf);
    assert_int_equal(bb_entry_unpack(buf, n, &back), 0);
    assert_int_equal(bb_entry_decide(&back, 1710000000, 0, &why),
                     BB_DECISION_CONSENT_REVOKED);
    assert_int_equal(bb_consent_decide(&e.token, NULL, 1710000000, 0, &why2),
                     BB_DECISION_CONSENT_REVOKED);
    assert_string_equal(why, why2);

    /* a revoked JWT */
    e.kind = BB_ENTRY_JWT;
    e.granted = 1;
    e.revoked = 1;
    strcpy(e.token.jti, "jti-1");
    n = bb_entry_pack(&e, buf);
    assert_int_equal(bb_entry_unpack(buf, n, &back), 0);
    assert_string_equal(back.token.jti, "jti-1");
    assert_int_equal(bb_entry_decide(&back, 1710000000, 0, &why),
                     BB_DECISION_INVALID_TOKEN);
    assert_string_equal(why, "The access token was revoked");

    /* an unknown token: the header alone, and no end of its own */
    memset(&e, 0, sizeof(e));
    e.kind = BB_ENTRY_OPAQUE;
    n = bb_entry_pack(&e, buf);
    assert_int_equal(n, bb_entry_size(&e));
    assert_int_equal(bb_entry_unpack(buf, n, &back), 0);
    assert_int_equal(bb_entry_decide(&back, 1710000000, 0, &why),
                     BB_DECISION_INVALID_TOKEN);
    assert_int_equal(bb_entry_ends(&back), 0);

    /* kinds and flags it never writes */
    buf[0] = 3;
    assert_int_equal(bb_entry_unpack(buf, n, &back), -1);
    buf[0] = BB_ENTRY_OPAQUE;
    buf[2] = 2;
    assert_int_equal(bb_entry_unpack(buf, n, &back), -1);
}


static int
failover(const char *channel, const char *payload, bb_failover_t *f)
{
    return bb_failover_parse(channel, strlen(channel), payload,
                             strlen(payload), f);
}


static void
test_failover(void **state)
{
    bb_failover_t  f;

    (void) state;

    assert_int_equal(failover("+switch-master",
                              "consent 10.0.0.1 6379 10.0.0.2 6380", &f), 0);
    assert_int_equal(f.master_len, 7);
    assert_memory_equal(f.master, "consent", 7);
    assert_int_equal(f.ip_len, 8);
    assert_memory_equal(f.ip, "10.0.0.2", 8);
    assert_int_equal(f.port, 6380);
    assert_int_equal(f.family, 4);
    assert_memory_equal(f.addr, "\x0a\x00\x00\x02", 4);
    assert_memory_equal(f.old_ip, "10.0.0.1", f.old_ip_len);
    assert_memory_equal(f.old_port, "6379", f.old_port_len);

    assert_int_equal(failover("+promoted-slave",
                              "slave 10.0.0.2:6380 10.0.0.2 6380 @ consent "
                              "10.0.0.1 6379", &f), 0);
    assert_memory_equal(f.master, "consent", 7);
    assert_int_equal(f.port, 6380);
    assert_memory_equal(f.old_ip, "10.0.0.1", f.old_ip_len);

    assert_int_equal(failover("+switch-master",
                              "m ::1 6379 fd00::2 65535", &f), 0);
    assert_int_equal(f.family, 6);
    assert_int_equal(f.port, 65535);

    /* other channels, counts, spacing, ports and names are refused */
    assert_int_equal(failover("+sdown", "consent 10.0.0.1 6379 10.0.0.2 1",
                              &f), -1);
    assert_int_equal(failover("+switch-master", "consent 10.0.0.1 6379", &f),
                     -1);
    assert_int_equal(failover("+switch-master",
                              "consent 10.0.0.1 6379 10.0.0.2 6380 x", &f),
                     -1);
    assert_int_equal(failover("+switch-master",
                              "consent  10.0.0.1 6379 10.0.0.2 6380", &f), -1);
    assert_int_equal(failover("+switch-master",
                              "consent 10.0.0.1 6379 10.0.0.2 6380 ", &f), -1);
    assert_int_equal(failover("+switch-master",
                              "consent 10.0.0.1 6379 10.0.0.2 0", &f), -1);
    assert_int_equal(failover("+switch-master",
                              "consent 10.0.0.1 6379 10.0.0.2 65536", &f), -1);
    assert_int_equal(failover("+switch-master",
                              "consent 10.0.0.1 6379 10.0.0.2 63a", &f), -1);
    assert_int_equal(failover("+switch-master",
                              "consent 10.0.0.1 6379 10.0.0.2 -1", &f), -1);
    assert_int_equal(failover("+switch-master",
                              "consent 10.0.0.1 6379 redis.internal 6380",
                              &f), -1);
    assert_int_equal(failover("+switch-master",
                              "consent 10.0.0.1 6379 10.0.0.256 6380", &f),
                     -1);
    assert_int_equal(failover("+promoted-slave",
                              "slave 10.0.0.2:6380 10.0.0.2 6380 # consent "
                              "10.0.0.1 6379", &f), -1);
    assert_int_equal(failover("+switch-master", "", &f), -1);

    assert_int_equal(bb_failover_address("127.0.0.1", 9, "1", 1, &f), 0);
    assert_int_equal(f.port, 1);
    assert_int_equal(bb_failover_address("127.0.0.1\0", 10, "1", 1, &f), -1);
    assert_int_equal(bb_failover_address("", 0, "1", 1, &f), -1);
    assert_int_equal(bb_failover_address("127.0.0.1", 9, "000001", 6, &f),
                     -1);
}


static int
resp(const bb_resp_limits_t *limits, const char *stream, size_t len,
    bb_resp_t *s)
{
    size_t  i;

    bb_resp_init(s, limits);

    /* a byte at a time: the bounds hold however the stream is cut */
    for (i = 0; i < len; i++) {
        if (bb_resp_scan(s, stream + i, 1) != 0) {
            return -1;
        }
    }

    return 0;
}


#define RESP(l, str, s)  resp(l, str, sizeof(str) - 1, s)


static void
test_resp(void **state)
{
    bb_resp_t                s;
    const bb_resp_limits_t  *cmd, *sub;
    char                     big[64];

    (void) state;

    cmd = &bb_resp_command_limits;
    sub = &bb_resp_subscriber_limits;

    /* what Redis answers the gateway */
    assert_int_equal(RESP(cmd, "+OK\r\n", &s), 0);
    assert_int_equal(s.reason, BB_RESP_ACCEPTED);
    assert_string_equal(bb_resp_reason_name(s.reason), "");
    assert_int_equal(RESP(cmd, "-NOSCRIPT No matching script\r\n", &s), 0);
    assert_int_equal(RESP(cmd, ":42\r\n", &s), 0);
    assert_int_equal(RESP(cmd, "$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n", &s), 0);
    assert_int_equal(RESP(cmd, "*2\r\n$5\r\nhello\r\n$-1\r\n", &s), 0);
    assert_int_equal(s.depth, 0);
    assert_int_equal(s.bytes, 0);
    assert_int_equal(RESP(cmd, "*3\r\n$6\r\nmaster\r\n:3129659\r\n"
                               "*2\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n9001\r\n"
                               "$7\r\n3129242\r\n*0\r\n", &s), 0);
    assert_int_equal(RESP(sub, "*3\r\n$7\r\nmessage\r\n"
                               "$20\r\n__redis__:invalidate\r\n"
                               "*2\r\n$3\r\nbb:\r\n$1\r\nx\r\n", &s), 0);
    assert_int_equal(RESP(sub, "*3\r\n$7\r\nmessage\r\n"
                               "$20\r\n__redis__:invalidate\r\n*-1\r\n", &s),
                     0);

    /* a bulk's body is not read as headers */
    assert_int_equal(RESP(cmd, "$12\r\n*2000000000\r\n", &s), 0);

    /* the 13 bytes that froze a worker, and their kin */
    assert_int_equal(RESP(cmd, "*200000000\r\n", &s), -1);
    assert_string_equal(s.error, "an array of more elements than 1024");
    assert_int_equal(s.reason, BB_RESP_REFUSED_ELEMENTS);
    assert_string_equal(bb_resp_reason_name(s.reason), "elements");
    assert_int_equal(RESP(sub, "*2000000000\r\n", &s), -1);
    assert_string_equal(s.error, "an array of more elements than 262144");
    assert_int_equal(RESP(cmd, "*1025\r\n", &s), -1);
    assert_int_equal(RESP(cmd, "*1024\r\n", &s), 0);
    assert_int_equal(RESP(cmd, "*1\r\n*1\r\n*1\r\n*1\r\n", &s), -1);
    assert_string_equal(s.error, "arrays nested deeper than 3");
    assert_string_equal(bb_resp_reason_name(s.reason), "depth");
    assert_int_equal(RESP(sub, "*1\r\n*1\r\n*1\r\n*1\r\n", &s), -1);
    assert_int_equal(RESP(sub, "*3\r\n$6\r\nmaster\r\n:1\r\n"
                               "*1\r\n*3\r\n$9\r\n127.0.0.1\r\n"
                               "$4\r\n9001\r\n$1\r\n1\r\n", &s), 0);
    assert_int_equal(RESP(cmd, "$1048577\r\n", &s), -1);
    assert_string_equal(s.error, "a bulk string longer than 1048576");
    assert_string_equal(bb_resp_reason_name(s.reason), "length");
    assert_int_equal(RESP(cmd, "$1048576\r\n", &s), 0);
    assert_int_equal(RESP(cmd, "$9223372036854775807\r\n", &s), -1);
    assert_string_equal(s.error, "a malformed length");

    /* lengths that are none */
    assert_int_equal(RESP(cmd, "$-7\r\n", &s), -1);
    assert_string_equal(s.error, "a negative length");
    assert_string_equal(bb_resp_reason_name(s.reason), "protocol");
    assert_int_equal(RESP(cmd, "*-2\r\n", &s), -1);
    assert_int_equal(RESP(cmd, "$-01\r\n", &s), -1);
    assert_int_equal(RESP(cmd, "$\r\n", &s), -1);
    assert_int_equal(RESP(cmd, "$-\r\n", &s), -1);
    assert_int_equal(RESP(cmd, "$1x\r\n", &s), -1);
    assert_int_equal(RESP(cmd, "$1\rx", &s), -1);
    assert_int_equal(RESP(cmd, "$+1\r\n", &s), -1);
    assert_int_equal(RESP(cmd, "%1\r\n", &s), -1);
    assert_string_equal(s.error, "a reply of unknown type");
    assert_string_equal(bb_resp_reason_name(s.reason), "protocol");

    /* the reply's bytes: counted across its elements, reset after it */
    bb_resp_init(&s, cmd);
    s.limits.bytes = 32;
    assert_int_equal(bb_resp_scan(&s, "*20\r\n", 5), -1);
    assert_string_equal(s.error,
                        "an array larger than the reply's room of 27");
    assert_string_equal(bb_resp_reason_name(s.reason), "size");
    bb_resp_init(&s, cmd);
    s.limits.bytes = 32;
    assert_int_equal(bb_resp_scan(&s, "*2\r\n$30\r\n", 9), -1);
    bb_resp_init(&s, cmd);
    s.limits.bytes = 32;
    assert_int_equal(bb_resp_scan(&s, "+0123456789012345678901234\r\n", 28),
                     0);
    assert_int_equal(bb_resp_scan(&s, "+0123456789012345678901234\r\n", 28),
                     0);
    memset(big, 'x', sizeof(big));
    big[0] = '+';
    assert_int_equal(bb_resp_scan(&s, big, sizeof(big)), -1);
    assert_string_equal(s.error, "a reply larger than 32");
    assert_string_equal(bb_resp_reason_name(s.reason), "size");

    /* once refused, refused */
    assert_int_equal(bb_resp_scan(&s, "+OK\r\n", 5), -1);
}


/* a reply as hiredis reads it from the wire */
static redisReply *
reply_of(const char *wire)
{
    void         *reply;
    redisReader  *reader;

    reader = redisReaderCreate();
    assert_non_null(reader);
    assert_int_equal(redisReaderFeed(reader, wire, strlen(wire)), REDIS_OK);
    assert_int_equal(redisReaderGetReply(reader, &reply), REDIS_OK);
    assert_non_null(reply);
    redisReaderFree(reader);

    return reply;
}


#define NODE(port, ip, role, health)                                          \
    "*12\r\n$2\r\nid\r\n$1\r\nx\r\n$4\r\nport\r\n:" port "\r\n"                \
    "$8\r\ntls-port\r\n:1" port "\r\n"                                        \
    "$2\r\nip\r\n" ip "$4\r\nrole\r\n" role "$6\r\nhealth\r\n" health


static void
test_slots(void **state)
{
    redisReply       *r;
    bb_redirect_t     rd;
    bb_slot_range_t   out[8];
    bb_slots_read_t   sr;

    (void) state;

    /* the Redis Cluster specification's own values, and hash tags */
    assert_int_equal(bb_slot("123456789", 9), 0x31c3);
    assert_int_equal(bb_slot("foo", 3), 12182);
    assert_int_equal(bb_slot("", 0), 0);
    assert_int_equal(bb_slot("{user1000}.following", 20),
                     bb_slot("{user1000}.followers", 20));
    assert_int_equal(bb_slot("{user1000}.following", 20),
                     bb_slot("user1000", 8));
    assert_int_equal(bb_slot("foo{}{bar}", 10), bb_slot("foo{}{bar}", 10));
    assert_int_not_equal(bb_slot("foo{}{bar}", 10), bb_slot("bar", 3));
    assert_int_equal(bb_slot("foo{{bar}}zap", 13), bb_slot("{bar", 4));
    assert_int_equal(bb_slot("foo{bar}{zap}", 13), bb_slot("bar", 3));
    assert_int_equal(bb_slot("{", 1), bb_slot("{", 1));
    assert_true(bb_slot("bb:token:ab", 11) < BB_SLOTS);

    /* redirections */
    assert_int_equal(bb_redirect_parse("MOVED 3999 127.0.0.1:6381", 25, &rd),
                     0);
    assert_int_equal(rd.ask, 0);
    assert_int_equal(rd.slot, 3999);
    assert_int_equal(rd.port, 6381);
    assert_int_equal(rd.host_len, 9);
    assert_memory_equal(rd.host, "127.0.0.1", 9);
    assert_int_equal(bb_redirect_parse("ASK 0 ::1:7000", 14, &rd), 0);
    assert_int_equal(rd.ask, 1);
    assert_int_equal(rd.host_len, 3);
    assert_int_equal(rd.port, 7000);
    assert_int_equal(bb_redirect_parse("MOVED 16383 :7000", 17, &rd), 0);
    assert_int_equal(rd.host_len, 0);
    assert_int_equal(bb_redirect_parse("MOVED 1 ?:7000", 14, &rd), 0);
    assert_int_equal(rd.host_len, 0);
    assert_int_equal(bb_redirect_parse("MOVED 1 redis-1.example:7000", 28,
                                       &rd), 0);
    assert_int_equal(rd.host_len, 15);
    assert_int_equal(bb_redirect_parse("MOVED 16384 a:1", 15, &rd), -1);
    assert_int_equal(bb_redirect_parse("MOVED 1 a:0", 11, &rd), -1);
    assert_int_equal(bb_redirect_parse("MOVED 1 a:65536", 15, &rd), -1);
    assert_int_equal(bb_redirect_parse("MOVED 1 a", 9, &rd), -1);
    assert_int_equal(bb_redirect_parse("MOVED 1 a:", 10, &rd), -1);
    assert_int_equal(bb_redirect_parse("MOVED 1 a b:1", 13, &rd), -1);
    assert_int_equal(bb_redirect_parse("MOVED  a:1", 10, &rd), -1);
    assert_int_equal(bb_redirect_parse("MOVEDX 1 a:1", 12, &rd), -1);
    assert_int_equal(bb_redirect_parse("TRYAGAIN x", 10, &rd), -1);
    assert_int_equal(bb_redirect_parse("MOVED 1 a:1x", 12, &rd), -1);

    /* CLUSTER SHARDS: the online primary of each shard, its port */
    r = reply_of("*3\r\n"
                 "*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:99\r\n:200\r\n:200\r\n"
                 "$5\r\nnodes\r\n*2\r\n"
                 NODE("7001", "$9\r\n127.0.0.1\r\n", "$6\r\nmaster\r\n",
                      "$6\r\nonline\r\n")
                 NODE("7004", "$9\r\n127.0.0.1\r\n", "$7\r\nreplica\r\n",
                      "$6\r\nonline\r\n")
                 "*4\r\n$5\r\nslots\r\n*2\r\n:100\r\n:199\r\n"
                 "$5\r\nnodes\r\n*2\r\n"
                 NODE("7002", "$9\r\n127.0.0.1\r\n", "$6\r\nmaster\r\n",
                      "$4\r\nfail\r\n")
                 NODE("7005", "$3\r\n::1\r\n", "$6\r\nmaster\r\n",
                      "$6\r\nonline\r\n")
                 "*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*0\r\n");
    assert_int_equal(bb_shards_read(r, 0, out, 8, &sr), 0);
    assert_int_equal(sr.ranges, 3);
    assert_int_equal(out[0].start, 0);
    assert_int_equal(out[0].end, 99);
    assert_int_equal(out[0].addr.port, 7001);
    assert_int_equal(out[1].start, 200);
    assert_int_equal(out[2].start, 100);
    assert_int_equal(out[2].addr.port, 7005);
    assert_int_equal(out[2].addr.family, 6);
    assert_int_equal(sr.unhealthy, 0);
    assert_int_equal(bb_shards_read(r, 1, out, 8, &sr), 0);
    assert_int_equal(out[0].addr.port, 17001);
    assert_int_equal(bb_shards_read(r, 0, out, 2, &sr), -1);
    assert_string_equal(sr.error, "too many slot ranges");
    freeReplyObject(r);

    /* a failed primary alone, one named by host only: not served */
    r = reply_of("*2\r\n"
                 "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:9\r\n"
                 "$5\r\nnodes\r\n*1\r\n"
                 NODE("7002", "$9\r\n127.0.0.1\r\n", "$6\r\nmaster\r\n",
                      "$4\r\nfail\r\n")
                 "*4\r\n$5\r\nslots\r\n*2\r\n:10\r\n:19\r\n"
                 "$5\r\nnodes\r\n*1\r\n"
                 NODE("7003", "$13\r\nredis.example\r\n", "$6\r\nmaster\r\n",
                      "$6\r\nonline\r\n"));
    assert_int_equal(bb_shards_read(r, 0, out, 8, &sr), 0);
    assert_int_equal(sr.ranges, 0);
    assert_int_equal(sr.unhealthy, 1);
    assert_int_equal(sr.unaddressed, 1);
    freeReplyObject(r);

    /* two primaries for a slot, a slot out of range, another shape */
    r = reply_of("*2\r\n"
                 "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:10\r\n"
                 "$5\r\nnodes\r\n*1\r\n"
                 NODE("7001", "$9\r\n127.0.0.1\r\n", "$6\r\nmaster\r\n",
                      "$6\r\nonline\r\n")
                 "*4\r\n$5\r\nslots\r\n*2\r\n:10\r\n:19\r\n"
                 "$5\r\nnodes\r\n*1\r\n"
                 NODE("7002", "$9\r\n127.0.0.1\r\n", "$6\r\nmaster\r\n",
                      "$6\r\nonline\r\n"));
    assert_int_equal(bb_shards_read(r, 0, out, 8, &sr), -1);
    assert_string_equal(sr.error, "two primaries serve the same slot");
    freeReplyObject(r);

    r = reply_of("*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16384\r\n"
                 "$5\r\nnodes\r\n*1\r\n"
                 NODE("7001", "$9\r\n127.0.0.1\r\n", "$6\r\nmaster\r\n",
                      "$6\r\nonline\r\n"));
    assert_int_equal(bb_shards_read(r, 0, out, 8, &sr), -1);
    assert_string_equal(sr.error, "a slot range is out of bounds");
    freeReplyObject(r);

    r = reply_of("*1\r\n*4\r\n$5\r\nslots\r\n*1\r\n:0\r\n"
                 "$5\r\nnodes\r\n*0\r\n");
    assert_int_equal(bb_shards_read(r, 0, out, 8, &sr), -1);
    freeReplyObject(r);

    r = reply_of("+OK\r\n");
    assert_int_equal(bb_shards_read(r, 0, out, 8, &sr), -1);
    assert_int_equal(bb_slots_read(r, out, 8, &sr), -1);
    freeReplyObject(r);

    /* CLUSTER SLOTS */
    r = reply_of("*2\r\n"
                 "*4\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7001\r\n"
                 "$1\r\na\r\n*3\r\n$9\r\n127.0.0.1\r\n:7004\r\n$1\r\nb\r\n"
                 "*3\r\n:8192\r\n:16383\r\n*4\r\n$1\r\n?\r\n:7002\r\n"
                 "$1\r\nc\r\n*0\r\n");
    assert_int_equal(bb_slots_read(r, out, 8, &sr), 0);
    assert_int_equal(sr.ranges, 1);
    assert_int_equal(out[0].end, 8191);
    assert_int_equal(out[0].addr.port, 7001);
    assert_int_equal(sr.unaddressed, 1);
    freeReplyObject(r);

    r = reply_of("*1\r\n*3\r\n:9\r\n:0\r\n*2\r\n$9\r\n127.0.0.1\r\n:1\r\n");
    assert_int_equal(bb_slots_read(r, out, 8, &sr), -1);
    freeReplyObject(r);
}


#define INTROSPECT(s, p, o)                                                   \
    bb_introspection_parse(s, sizeof(s) - 1, p, NULL, o, &err)
#define INTROSPECT_FOR(s, a, o)                                               \
    bb_introspection_parse(s, sizeof(s) - 1, NULL, a, o, &err)
#define ACTIVE_FOR(aud)                                                       \
    "{\"active\":true,\"client_id\":\"a\",\"patient\":\"-1\","           \
    "\"exp\":2000000000" aud "}"


static void
test_introspection(void **state)
{
    const char          *err;
    bb_introspection_t   in;

    (void) state;

    /* RFC 7662's example, with SMART's patient */
    assert_int_equal(INTROSPECT("{\"active\": true, \"client_id\": \"l238j323ds"
                                "-23ij4\", \"username\": \"jdoe\", \"scope\": "
                                "\"patient/Patient.read openid\", \"sub\": "
                                "\"Z5O3upPC88QrAjx00dis\", \"aud\": [\"https:"
                                "//protected.example.net/resource\"], \"iss\":"
                                " \"https://server.example.com/\", \"exp\": "
                                "1419356238, \"iat\": 1419350238, \"cnf\": "
                                "{\"x5t#S256\": \"bwcK0esc3ACC3DB2Y5_lESsXE8o9"
                                "ltc05O89jdN-dg2\"}, \"patient\": \"-2014000"
                                "0008325\"}", NULL, &in), 0);
    assert_int_equal(in.active, 1);
    assert_string_equal(in.token.client_id, "l238j323ds-23ij4");
    assert_string_equal(in.token.patient, "-20140000008325");
    assert_string_equal(in.token.scope, "patient/Patient.read openid");
    assert_int_equal(in.token.exp, 1419356238);
    assert_int_equal(in.token.iat, 1419350238);

    /* inactive: nothing else is read, or needed */
    assert_int_equal(INTROSPECT("{\"active\":false}", NULL, &in), 0);
    assert_int_equal(in.active, 0);
    assert_int_equal(INTROSPECT("{\"active\":false,\"patient\":7}", NULL,
                                &in), 0);
    assert_int_equal(in.active, 0);

    /* another member names the patient */
    assert_int_equal(INTROSPECT("{\"active\":true,\"client_id\":\"a\","
                                "\"exp\":2000000000,\"bb_patient\":\"-1\"}",
                                "bb_patient", &in), 0);
    assert_string_equal(in.token.patient, "-1");
    assert_int_equal(INTROSPECT("{\"active\":true,\"client_id\":\"a\","
                                "\"exp\":2000000000,\"bb_patient\":\"-1\"}",
                                NULL, &in), -1);
    assert_string_equal(err, "an active token's answer has no valid patient");

    /* refused */
    assert_int_equal(INTROSPECT("{\"active\":\"true\"}", NULL, &in), -1);
    assert_string_equal(err, "the answer has no boolean \"active\"");
    assert_int_equal(INTROSPECT("{}", NULL, &in), -1);
    assert_int_equal(INTROSPECT("[true]", NULL, &in), -1);
    assert_int_equal(INTROSPECT("{\"active\":true,\"active\":false}", NULL,
                                &in), -1);
    assert_int_equal(INTROSPECT("{\"active\":true,\"client_id\":\"a\","
                                "\"patient\":\"-1\"}", NULL, &in), -1);
    assert_string_equal(err, "an active token's answer has no valid \"exp\"");
    assert_int_equal(INTROSPECT("{\"active\":true,\"client_id\":\"a\","
                                "\"patient\":\"-1\",\"exp\":-5}", NULL, &in),
                     -1);
    assert_int_equal(INTROSPECT("{\"active\":true,\"patient\":\"-1\","
                                "\"exp\":2000000000}", NULL, &in), -1);
    assert_int_equal(INTROSPECT("{\"active\":true,\"client_id\":\"a\","
                                "\"patient\":\"a b\",\"exp\":2000000000}",
                                NULL, &in), -1);
    assert_int_equal(INTROSPECT("{\"active\":true,\"client_id\":\"a\","
                                "\"patient\":\"-1\",\"exp\":2000000000,"
                                "\"scope\":\"patient/Patient.read\\u0000\"}",
                                NULL, &in), -1);
    assert_int_equal(INTROSPECT("{\"active\":true,\"client_id\":\"a\","
                                "\"patient\":\"-1\",\"exp\":2000000000,"
                                "\"x\":[[[[1]]]]}", NULL, &in), -1);
    assert_int_equal(in.active, 0);

    /* an audience: "aud" as a string, or an array holding it */
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(",\"aud\":\"https://bb\""),
                                    "https://bb", &in), 0);
    assert_int_equal(in.active, 1);
    assert_int_equal(in.other_audience, 0);
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(",\"aud\":[\"x\", \"https:"
                                               "\\/\\/bb\" ]"),
                                    "https://bb", &in), 0);
    assert_int_equal(in.active, 1);

    /* ...or not: taken as not active, and said why */
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(",\"aud\":\"https://bb/\""),
                                    "https://bb", &in), 0);
    assert_int_equal(in.active, 0);
    assert_int_equal(in.other_audience, 1);
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(",\"aud\":\"https://b\""),
                                    "https://bb", &in), 0);
    assert_int_equal(in.active, 0);
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(""), "https://bb", &in), 0);
    assert_int_equal(in.other_audience, 1);
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(",\"aud\":[]"), "https://bb",
                                    &in), 0);
    assert_int_equal(in.other_audience, 1);
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(",\"aud\":[1,\"https://bb\"]"),
                                    "https://bb", &in), 0);
    assert_int_equal(in.other_audience, 1);
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(",\"aud\":[[\"https://bb\"]]"),
                                    "https://bb", &in), 0);
    assert_int_equal(in.other_audience, 1);
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(",\"aud\":{\"a\":"
                                               "\"https://bb\"}"),
                                    "https://bb", &in), 0);
    assert_int_equal(in.other_audience, 1);
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(",\"aud\":null"), "https://bb",
                                    &in), 0);
    assert_int_equal(in.other_audience, 1);

    /* an inactive token is not active for any audience */
    assert_int_equal(INTROSPECT_FOR("{\"active\":false}", "https://bb", &in),
                     0);
    assert_int_equal(in.active, 0);
    assert_int_equal(in.other_audience, 0);

    /* two "aud" are ambiguous where the audience is read, else not read */
    assert_int_equal(INTROSPECT_FOR(ACTIVE_FOR(",\"aud\":\"https://bb\","
                                               "\"aud\":\"x\""),
                                    "https://bb", &in), -1);
    assert_int_equal(INTROSPECT(ACTIVE_FOR(",\"aud\":\"https://bb\","
                                           "\"aud\":\"x\""), NULL, &in), 0);
    assert_int_equal(in.active, 1);
}


static void
test_record_names(void **state)
{
    char                 longest[BB_RECORD_NAMED_MAX + 2], json[300];
    const char          *err;
    const char          *names[] = { "aud" };
    bb_record_member_t   m;

    (void) state;

#define NAMES(json, v)                                                        \
    (bb_record_read(json, sizeof(json) - 1, 4096, 3, names, &m, 1, &err)    \
     == 0 ? bb_record_names(&m, v) : -1)

    assert_int_equal(NAMES("{\"aud\":\"a\"}", "a"), 1);
    assert_int_equal(NAMES("{\"aud\":\"ab\"}", "a"), 0);
    assert_int_equal(NAMES("{\"aud\":\"a\"}", "ab"), 0);
    assert_int_equal(NAMES("{\"aud\":\"\\u0061\"}", "a"), 1);
    assert_int_equal(NAMES("{\"aud\":[ \"b\" , \"a\" ]}", "a"), 1);
    assert_int_equal(NAMES("{\"aud\":[\"b\",\"c\"]}", "a"), 0);
    assert_int_equal(NAMES("{\"aud\":[\"ab\",\"ba\"]}", "a"), 0);
    assert_int_equal(NAMES("{\"aud\":[\"b\",{\"x\":1},\"a\"]}", "a"),
                     0);
    assert_int_equal(NAMES("{\"aud\":[]}", "a"), 0);
    assert_int_equal(NAMES("{\"aud\":true}", "true"), 0);
    assert_int_equal(NAMES("{\"aud\":1}", "1"), 0);
    assert_int_equal(NAMES("{\"x\":\"a\"}", "a"), 0);
    assert_int_equal(NAMES("{\"aud\":[\"a\\u0001\"]}", "a"), 0);

    /* the longest value found, one more never */
    memset(longest, 'x', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    snprintf(json, sizeof(json), "{\"aud\":[\"%s\"]}", longest);
    assert_int_equal(bb_record_read(json, strlen(json), 4096, 3, names, &m, 1,
                                    &err), 0);
    assert_int_equal(bb_record_names(&m, longest), 0);

    longest[BB_RECORD_NAMED_MAX] = '\0';
    snprintf(json, sizeof(json), "{\"aud\":[\"%s\"]}", longest);
    assert_int_equal(bb_record_read(json, strlen(json), 4096, 3, names, &m, 1,
                                    &err), 0);
    assert_int_equal(bb_record_names(&m, longest), 1);
    assert_int_equal(NAMES("{\"aud\":\"x\"}", longest), 0);

#undef NAMES
}


#define ALICE  "-20140000008325"

/* the verdict on an answer, fed whole and then byte by byte */
static int
compartment(int expect, const char *type, const char *json)
{
    int                     whole, pieces;
    size_t                  i, n, len;
    bb_compartment_t        c;
    bb_compartment_rule_t   rules[BB_COMPARTMENT_RULES_MAX];

    n = bb_compartment_default_rules(rules);
    assert_int_equal(bb_compartment_rule(&rules[n++], "Observation",
                                         "subject.reference", 0), 0);

    len = strlen(json);

    bb_compartment_init(&c, rules, n, expect, type, ALICE);
    (void) bb_compartment_feed(&c, json, len);
    whole = bb_compartment_end(&c);

    bb_compartment_init(&c, rules, n, expect, type, ALICE);
    for (i = 0; i < len; i++) {
        (void) bb_compartment_feed(&c, json + i, 1);
    }
    pieces = bb_compartment_end(&c);

    assert_int_equal(whole, pieces);

    return whole;
}


#define READ(type, json)  compartment(BB_COMPARTMENT_READ, type, json)
#define SEARCH(json)      compartment(BB_COMPARTMENT_SEARCH, "", json)
#define EOB(member)                                                          \
    "{\"resourceType\":\"ExplanationOfBenefit\",\"id\":\"c1\"," member "}"
#define REF(id)  "\"patient\":{\"reference\":\"Patient/" id "\"}"


static void
test_compartment_reads(void **state)
{
    (void) state;

    assert_int_equal(READ("ExplanationOfBenefit", EOB(REF(ALICE))),
                     BB_COMPARTMENT_OK);
    assert_int_equal(READ("ExplanationOfBenefit", EOB(REF("-2014"))),
                     BB_COMPARTMENT_OTHER);
    assert_int_equal(READ("ExplanationOfBenefit", EOB(REF(ALICE "0"))),
                     BB_COMPARTMENT_OTHER);
    assert_int_equal(READ("ExplanationOfBenefit",
                          EOB("\"patient\":{\"reference\":\"" ALICE "\"}")),
                     BB_COMPARTMENT_OTHER);
    assert_int_equal(READ("ExplanationOfBenefit", EOB("\"x\":1")),
                     BB_COMPARTMENT_UNBOUND);
    assert_int_equal(READ("ExplanationOfBenefit",
                          EOB("\"patient\":{\"reference\":null}")),
                     BB_COMPARTMENT_UNBOUND);
    assert_int_equal(READ("ExplanationOfBenefit",
                          EOB("\"patient\":\"Patient/" ALICE "\"")),
                     BB_COMPARTMENT_UNBOUND);
    assert_int_equal(READ("ExplanationOfBenefit",
                          EOB(REF(ALICE) "," REF(ALICE))),
                     BB_COMPARTMENT_DUPLICATE);
    assert_int_equal(READ("ExplanationOfBenefit",
                          EOB("\"patient\":{\"reference\":\"Patient/" ALICE
                              "\",\"reference\":\"Patient/x\"}")),
                     BB_COMPARTMENT_DUPLICATE);
    assert_int_equal(READ("ExplanationOfBenefit",
                          EOB("\"resourceType\":\"Patient\"")),
                     BB_COMPARTMENT_DUPLICATE);

    /* escapes are what they decode to, in names and values alike */
    assert_int_equal(READ("ExplanationOfBenefit",
                          EOB("\"p\\u0061tient\":{\"reference\":"
                              "\"Patient\\/" ALICE "\"}")),
                     BB_COMPARTMENT_OK);
    assert_int_equal(READ("ExplanationOfBenefit",
                          EOB("\"patient\":{\"reference\":\"Patient/"
                              ALICE "\\u0000\"}")),
                     BB_COMPARTMENT_OTHER);

    assert_int_equal(READ("Patient",
                          "{\"resourceType\":\"Patient\",\"id\":\"" ALICE
                          "\"}"), BB_COMPARTMENT_OK);
    assert_int_equal(READ("Patient", "{\"id\":\"" ALICE "\"}"),
                     BB_COMPARTMENT_TYPE);
    assert_int_equal(READ("Coverage",
                          "{\"resourceType\":\"Coverage\",\"beneficiary\":"
                          "{\"reference\":\"Patient/" ALICE "\"}}"),
                     BB_COMPARTMENT_OK);
    assert_int_equal(READ("Coverage", EOB(REF(ALICE))), BB_COMPARTMENT_TYPE);
    assert_int_equal(READ("Observation",
                          "{\"resourceType\":\"Observation\",\"subject\":"
                          "{\"reference\":\"Patient/x\"}}"),
                     BB_COMPARTMENT_OTHER);
    assert_int_equal(READ("Coverage",
                          "{\"resourceType\":\"OperationOutcome\"}"),
                     BB_COMPARTMENT_OK);

    /* references inside arrays and contained resources are not read */
    assert_int_equal(READ("ExplanationOfBenefit",
                          EOB(REF(ALICE) ",\"contained\":[{\"resourceType\":"
                              "\"Coverage\",\"beneficiary\":{\"reference\":"
                              "\"Patient/x\"}}]")),
                     BB_COMPARTMENT_OK);
}


static void
test_compartment_searches(void **state)
{
    (void) state;

    assert_int_equal(SEARCH("{\"resourceType\":\"Bundle\",\"entry\":[]}"),
                     BB_COMPARTMENT_OK);
    assert_int_equal(SEARCH("{\"entry\":[{\"resource\":" EOB(REF(ALICE))
                            "},{\"fullUrl\":\"x\"}],"
                            "\"resourceType\":\"Bundle\"}"),
                     BB_COMPARTMENT_OK);
    assert_int_equal(SEARCH("{\"resourceType\":\"Bundle\",\"entry\":["
                            "{\"resource\":" EOB(REF(ALICE)) "},"
                            "{\"resource\":" EOB(REF("x")) "}]}"),
                     BB_COMPARTMENT_OTHER);
    assert_int_equal(SEARCH("{\"resourceType\":\"Bundle\",\"entry\":["
                            "{\"resource\":" EOB(REF(ALICE)) ",\"resource\":"
                            "{}}]}"), BB_COMPARTMENT_DUPLICATE);
    assert_int_equal(SEARCH("{\"resourceType\":\"Bundle\",\"entry\":[],"
                            "\"entry\":[]}"), BB_COMPARTMENT_DUPLICATE);
    assert_int_equal(SEARCH("{\"resourceType\":\"Bundle\",\"entry\":{}}"),
                     BB_COMPARTMENT_TYPE);
    assert_int_equal(SEARCH("{\"resourceType\":\"Bundle\",\"entry\":[1]}"),
                     BB_COMPARTMENT_TYPE);
    assert_int_equal(SEARCH("{\"resourceType\":\"Bundle\",\"entry\":["
                            "{\"resource\":{\"resourceType\":\"Claim\"}}]}"),
                     BB_COMPARTMENT_TYPE);
    assert_int_equal(SEARCH("{\"resourceType\":\"Bundle\",\"entry\":["
                            "{\"resource\":{\"resourceType\":\"Bundle\","
                            "\"entry\":[]}}]}"), BB_COMPARTMENT_TYPE);
    assert_int_equal(SEARCH(EOB(REF(ALICE))), BB_COMPARTMENT_TYPE);
    assert_int_equal(SEARCH("{\"resourceType\":\"OperationOutcome\","
                            "\"entry\":[]}"), BB_COMPARTMENT_TYPE);
    assert_int_equal(compartment(BB_COMPARTMENT_USERINFO, "",
                                 "{\"sub\":\"x\",\"patient\":\"" ALICE "\"}"),
                     BB_COMPARTMENT_OK);
    assert_int_equal(compartment(BB_COMPARTMENT_USERINFO, "",
                                 "{\"patient\":\"x\"}"),
                     BB_COMPARTMENT_OTHER);
    assert_int_equal(compartment(BB_COMPARTMENT_OUTCOME, "",
                                 "{\"resourceType\":\"OperationOutcome\"}"),
                     BB_COMPARTMENT_OK);
    assert_int_equal(compartment(BB_COMPARTMENT_OUTCOME, "",
                                 EOB(REF(ALICE))), BB_COMPARTMENT_TYPE);
}


static void
test_compartment_syntax(void **state)
{
    size_t       i;
    char         deep[2 * BB_COMPARTMENT_DEPTH_MAX + 64];

    static const char  *bad[] = {
        "", " ", "[]", "\"x\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":.5}",
        "{\"a\":tru}", "{\"a\":nul1}", "{\"a\":\"\\x\"}", "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\x01\"}", "{\"a\":[1}",
        "{\"a\":1} {}", "{\"a\":1}x", "{'a':1}", "{\"a\":1]", NULL
    };

    static const char  *good[] = {
        "{\"a\":[1,-0.5e+3,2E-2,true,false,null,{},[],\"\\ud83d\\ude00\","
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x7f\"]}",
        NULL
    };

    (void) state;

    for (i = 0; bad[i]; i++) {
        assert_int_not_equal(READ("X", bad[i]), BB_COMPARTMENT_OK);
        assert_int_not_equal(READ("X", bad[i]), BB_COMPARTMENT_MORE);
    }

    /* valid JSON: refused for its type, not its syntax */
    for (i = 0; good[i]; i++) {
        assert_int_equal(READ("X", good[i]), BB_COMPARTMENT_TYPE);
    }

    memset(deep, '[', sizeof(deep));
    memcpy(deep, "{\"a\":", 5);
    deep[sizeof(deep) - 1] = '\0';
    assert_int_equal(READ("X", deep), BB_COMPARTMENT_DEEP);

    assert_int_equal(READ("X", "{\"a\":1"), BB_COMPARTMENT_SYNTAX);
    assert_int_equal(READ("X", "[]"), BB_COMPARTMENT_NOT_OBJECT);
}


static void
test_compartment_rules(void **state)
{
    bb_compartment_rule_t  r;

    (void) state;

    assert_int_equal(bb_compartment_rule(&r, "Claim", "patient.reference", 0),
                     0);
    assert_int_equal(r.npath, 2);
    assert_string_equal(r.path[1], "reference");
    assert_int_equal(bb_compartment_rule(&r, "Claim", "a.b.c.d", 1), 0);
    assert_int_equal(bb_compartment_rule(&r, "Claim", "a.b.c.d.e", 0), -1);
    assert_int_equal(bb_compartment_rule(&r, "Claim", "a..b", 0), -1);
    assert_int_equal(bb_compartment_rule(&r, "Claim", "", 0), -1);
    assert_int_equal(bb_compartment_rule(&r, "Claim", "a.", 0), -1);
    assert_int_equal(bb_compartment_rule(&r, "", "a", 0), -1);
}


static const char *
rebuilt(const char *type, int search, int version, const char *args)
{
    long         n;
    const char  *err;

    static char  out[4096];

    n = bb_search_rebuild(type, bb_fhir_patient_param(type), search, version,
                          args, strlen(args), out, sizeof(out), &err);
    if (n < 0) {
        return err;
    }

    out[n] = '\0';

    return out;
}


#define FORMAT  "_format=application%2Ffhir%2Bjson"

static void
test_search_rebuild(void **state)
{
    (void) state;

    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2, ""),
                        "_count=10&" FORMAT);
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2,
                                "excludeSAMHSA=false&patient=1&_format=xml"
                                "&&x"), "patient=1&_count=10&" FORMAT);
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2, "count=5"),
                        "_count=5&" FORMAT);
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 3, ""),
                        "_count=10&" FORMAT "&_source=NCH%2CDDPS");
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 3, "_tag=a&_tag=b"),
                        "_tag=a&_tag=b&_count=10&" FORMAT);
    assert_string_equal(rebuilt("Coverage", 1, 3, "type=carrier&_count=0"),
                        "_count=0&" FORMAT);
    assert_string_equal(rebuilt("Observation", 1, 2, "patient=1&_id=2"),
                        "patient=1&_count=10&" FORMAT);
    assert_string_equal(rebuilt("ExplanationOfBenefit", 0, 2,
                                "_count=5&type=x"), FORMAT);
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2,
                                "type=Carrier,%20pde,https://bluebutton.cms."
                                "gov/resources/codesystem/eob-type%7Csnf"),
                        "type=Carrier,%20pde,https://bluebutton.cms.gov/"
                        "resources/codesystem/eob-type%7Csnf&_count=10&"
                        FORMAT);
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2,
                                "_lastUpdated=ge2024-01-01T00:00:00%2B05:00"),
                        "_lastUpdated=ge2024-01-01T00:00:00%2B05:00"
                        "&_count=10&" FORMAT);

    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2, "_count=51"),
                        "The _count parameter must be a whole number from 0 "
                        "to 50");
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2, "_count="),
                        "The _count parameter must be a whole number from 0 "
                        "to 50");
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2,
                                "count=1&_count=1"),
                        "A search parameter that takes one value is given "
                        "more than once");
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2,
                                "patient=1&patient=1"),
                        "A search parameter that takes one value is given "
                        "more than once");
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2,
                                "_lastUpdated=2024"),
                        "The _lastUpdated operator is not valid");
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2,
                                "service-date=lt"),
                        "The service-date operator is not valid");
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2,
                                "type=carrier,"),
                        "The type parameter value is not valid");
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2, "type="),
                        "The type parameter value is not valid");
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2,
                                "startIndex=1x"),
                        "The startIndex parameter must be a whole number");
    assert_string_equal(rebuilt("ExplanationOfBenefit", 1, 2, "a=%zz"),
                        "The query string is malformed");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope_parse_forms),
        cmocka_unit_test(test_scope_parse_rejects),
        cmocka_unit_test(test_scope_satisfied),
        cmocka_unit_test(test_scope_list_valid),
        cmocka_unit_test(test_json_depth),
        cmocka_unit_test(test_json_readers),
        cmocka_unit_test(test_json_record),
        cmocka_unit_test(test_memo),
        cmocka_unit_test(test_token_record),
        cmocka_unit_test(test_grant),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_decision_names),
        cmocka_unit_test(test_fhir_routes),
        cmocka_unit_test(test_fhir_required_scope),
        cmocka_unit_test(test_fhir_query_bind),
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_jwt),
        cmocka_unit_test(test_keys_refused),
        cmocka_unit_test(test_openssl_errors_drained),
        cmocka_unit_test(test_entry),
        cmocka_unit_test(test_failover),
        cmocka_unit_test(test_resp),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_introspection),
        cmocka_unit_test(test_record_names),
        cmocka_unit_test(test_compartment_reads),
        cmocka_unit_test(test_compartment_searches),
        cmocka_unit_test(test_compartment_syntax),
        cmocka_unit_test(test_compartment_rules),
        cmocka_unit_test(test_search_rebuild),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
