# bluebutton_scope: SMART App Launch scopes, v1 and v2 forms, wildcards,
# and the 403 insufficient_scope challenge.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();

add_block_preprocessor(sub {
    my $block = shift;

    BB::defaults($block);

    # every block: one token with the scopes it names, behind a live grant
    if (defined(my $granted = $block->granted)) {
        chomp $granted;
        $block->set_value('init', "BB::flush(); BB::consent('tok', scope => q{$granted});");
        $block->set_value('more_headers', "Authorization: Bearer tok");
        $block->set_value('request', "GET /r");
    }

    if (defined(my $required = $block->required)) {
        chomp $required;
        $block->set_value('config', <<"END");
    location /r {
        bluebutton on;
        bluebutton_scope $required;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_BACKEND_PORT;
    }
END
    }
});

run_tests();

__DATA__

=== TEST 1: the exact scope
--- required: patient/Patient.read
--- granted: patient/Patient.read
--- error_code: 200



=== TEST 2: v2 .rs satisfies v1 .read
--- required: patient/Patient.read
--- granted: patient/Patient.rs
--- error_code: 200



=== TEST 3: v2 .r alone does not satisfy .read (which also covers search)
--- required: patient/Patient.read
--- granted: patient/Patient.r
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="insufficient_scope", error_description="The access token does not grant the scope this resource requires", scope="patient/Patient.read"
--- response_body
{"error":"insufficient_scope","error_description":"The access token does not grant the scope this resource requires","scope":"patient/Patient.read"}
--- error_log
bluebutton: insufficient_scope (insufficient_scope)
--- no_error_log
[error]



=== TEST 4: a location that needs reads only accepts .r
--- required: patient/Patient.r
--- granted: patient/Patient.r
--- error_code: 200



=== TEST 5: .r and .s granted separately add up to .rs
--- required: patient/ExplanationOfBenefit.rs
--- granted: patient/ExplanationOfBenefit.r patient/ExplanationOfBenefit.s
--- error_code: 200



=== TEST 6: the wildcard type
--- required: patient/Coverage.read
--- granted: patient/*.read
--- error_code: 200



=== TEST 7: v2 wildcard with cruds
--- required: patient/Coverage.rs
--- granted: patient/*.cruds
--- error_code: 200



=== TEST 8: another resource type does not count
--- required: patient/Coverage.read
--- granted: patient/Patient.read patient/ExplanationOfBenefit.read
--- error_code: 403



=== TEST 9: another context does not count
--- required: patient/Coverage.read
--- granted: user/Coverage.read system/Coverage.read
--- error_code: 403



=== TEST 10: .write does not give read
--- required: patient/Coverage.read
--- granted: patient/Coverage.write
--- error_code: 403



=== TEST 11: v2 scopes narrowed by a query grant nothing at the gateway
--- required: patient/Coverage.rs
--- granted: patient/Coverage.rs?category=x
--- error_code: 403



=== TEST 12: plain scopes match exactly
--- required: profile
--- granted: openid profile
--- error_code: 200



=== TEST 13: a plain scope is not a prefix match
--- required: profile
--- granted: profiles openid
--- error_code: 403



=== TEST 14: every listed scope is needed; the challenge names them all
--- required: patient/Patient.read profile
--- granted: patient/Patient.read
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="insufficient_scope", error_description="The access token does not grant the scope this resource requires", scope="patient/Patient.read profile"



=== TEST 15: no scopes granted at all
--- required: patient/Patient.read
--- granted:
--- error_code: 403



=== TEST 16: no bluebutton_scope: any live token passes
--- init
BB::flush();
BB::consent('tok', scope => '');
--- config
    location /r {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /r
--- more_headers
Authorization: Bearer tok
--- error_code: 200



=== TEST 17: bluebutton_scope is inherited, and a location may replace it
--- init
BB::flush();
BB::consent('tok', scope => 'patient/Coverage.read');
--- config
    bluebutton_scope patient/Patient.read;

    location /patient {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location /coverage {
        bluebutton on;
        bluebutton_scope patient/Coverage.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /patient", "GET /coverage"]
--- more_headers
Authorization: Bearer tok
--- error_code eval
[403, 200]



=== TEST 18: $bluebutton_decision after a missing scope
--- init
BB::flush();
BB::consent('tok', scope => 'profile');
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    log_format d "decision=$bluebutton_decision patient=$bluebutton_patient";
--- config
    location /r {
        bluebutton on;
        bluebutton_scope patient/Patient.read;
        access_log logs/error.log d;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /r
--- more_headers
Authorization: Bearer tok
--- error_code: 403
--- error_log
decision=insufficient_scope patient=-20140000008325



=== TEST 19: bluebutton_scope twice in one place
--- config
    location /r {
        bluebutton_scope profile;
        bluebutton_scope openid;
    }
--- must_die
--- error_log
"bluebutton_scope" directive is duplicate



=== TEST 20: a scope with a character outside RFC 6749 scope-token
--- config
    location /r {
        bluebutton_scope "pro\\file";
    }
--- must_die
--- error_log
invalid scope



=== TEST 21: a SMART scope without a type
--- config
    location /r {
        bluebutton_scope patient/.read;
    }
--- must_die
--- error_log
invalid scope "patient/.read" in "bluebutton_scope"



=== TEST 21b: a patient/ wildcard does not satisfy a user/ scope
--- required: user/Coverage.read
--- granted: patient/*.read patient/*.*
--- error_code: 403



=== TEST 21c: nor a system/ scope
--- required: system/Coverage.read
--- granted: patient/*.read patient/*.*
--- error_code: 403



=== TEST 21d: a user/ scope is satisfied by user/ wildcards
--- required: user/Coverage.read
--- granted: user/*.read
--- error_code: 200



=== TEST 21e: a plain scope is matched whole: "profiles" is not "profile"
--- required: profile
--- granted: profiles openid
--- error_code: 403



=== TEST 22: a SMART scope with the resource type in lower case is refused at start
--- config
    location /p {
        bluebutton_scope patient/explanationofbenefit.read;
    }
--- must_die
--- error_log
invalid scope "patient/explanationofbenefit.read" in "bluebutton_scope": a scope is a word such as "profile", or patient|user|system/Type.read|.rs|.* with Type a FHIR resource type ("Coverage") or "*"



=== TEST 23: a misspelt permission: the message shows the form
--- config
    location /p {
        bluebutton_scope patient/ExplanationOfBenefit.raed;
    }
--- must_die
--- error_log
invalid scope "patient/ExplanationOfBenefit.raed" in "bluebutton_scope": a scope is a word such as "profile"
