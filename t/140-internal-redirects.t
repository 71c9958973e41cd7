# A request checked in one location and sent on to another by try_files,
# error_page, rewrite or the backend's X-Accel-Redirect meets the second
# location's checks: its route, scopes, patient binding and identity
# headers, as if the client had asked it directly.  Tried as an attacker
# would: Alice's token asking for Bob's resources.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();

our $Alice = '-20140000008325';
our $Bob = '-20140000010000';

# a backend that shows both header names a location may use
our $Backend = <<'END';
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        location / {
            # a header, as the gateway passes only the parameters it knows
            if ($http_x_hop) {
                add_header X-Accel-Redirect /v2/fhir/Patient/-20140000010000;
                return 200 "not this\n";
            }
            return 200 "backend $request_method $request_uri bb=[$http_bluebutton_beneficiaryid] x=[$http_x_patient_id] client=[$http_x_client_id] authorization=[$http_authorization]\n";
        }
        location /accel/ {
            add_header X-Accel-Redirect $arg_to?$arg_q;
            return 200 "not this\n";
        }

    }
END

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', $Backend)
        unless defined $block->http_config;

    $block->set_value('init', "BB::flush(); BB::consent('tok');")
        unless defined $block->init;

    $block->set_value('more_headers', <<"END")
Authorization: Bearer tok
X-Patient-Id: patientId:$Bob
BlueButton-BeneficiaryId: patientId:$Bob
END
        unless defined $block->more_headers;
});

no_root_location();
run_tests();

__DATA__

=== TEST 1: try_files into a FHIR location: another patient's read and search are refused
--- config
    location / {
        bluebutton on;
        root html;
        try_files $uri @fhir;
    }
    location @fhir {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        bluebutton_patient_header X-Patient-Id;
        bluebutton_client_header X-Client-Id;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/Patient/$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?patient=$::Bob",
 "GET /v2/fhir/Patient/$::Alice",
 "GET /v2/fhir/ExplanationOfBenefit?_count=2"]
--- error_code eval
[404, 403, 200, 200]
--- response_body eval
[qq({"error":"not_found","error_description":"No such resource for this beneficiary"}\n),
 qq({"error":"forbidden","error_description":"The search names another beneficiary"}\n),
 "backend GET /v2/fhir/Patient/$::Alice?_format=application%2Ffhir%2Bjson bb=[] x=[patientId:$::Alice] client=[app-1] authorization=[]\n",
 "backend GET /v2/fhir/ExplanationOfBenefit?_count=2&patient=$::Alice&_format=application%2Ffhir%2Bjson bb=[] x=[patientId:$::Alice] client=[app-1] authorization=[]\n"]



=== TEST 2: try_files into a FHIR location: method, raw path and query token are checked there
--- config
    location / {
        bluebutton on;
        root html;
        try_files $uri @fhir;
    }
    location @fhir {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["POST /v2/fhir/ExplanationOfBenefit",
 "GET /v2/fhir/Patient/%2D20140000008325",
 "GET /v2/fhir/ExplanationOfBenefit?access_token=tok",
 "GET /v2/fhir/Nothing"]
--- error_code eval
[405, 400, 400, 404]
--- response_body eval
[qq({"error":"method_not_allowed","error_description":"Only GET and HEAD are supported"}\n),
 qq({"error":"invalid_request","error_description":"The request path must be sent in normal form"}\n),
 qq({"error":"invalid_request","error_description":"Access tokens are accepted in the Authorization header only"}\n),
 qq({"error":"not_found","error_description":"No such resource in this API"}\n)]



=== TEST 3: try_files into a FHIR location: a profile-only token reads no claims
--- init
BB::flush();
BB::consent('tok', scope => 'profile');
--- config
    location / {
        bluebutton on;
        root html;
        try_files $uri @fhir;
    }
    location @fhir {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/ExplanationOfBenefit", "GET /v1/connect/userinfo"]
--- error_code eval
[403, 200]
--- response_body eval
[qq({"error":"insufficient_scope","error_description":"The access token does not grant the scope this resource requires","scope":"patient/ExplanationOfBenefit.read"}\n),
 "backend GET /v1/connect/userinfo bb=[patientId:$::Alice] x=[patientId:$::Bob] client=[] authorization=[]\n"]



=== TEST 4: error_page into a FHIR location
--- config
    location / {
        bluebutton on;
        root html;
        error_page 404 = @fhir;
    }
    location @fhir {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        bluebutton_patient_header X-Patient-Id;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/Patient/$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?patient=$::Bob",
 "GET /v2/fhir/Coverage"]
--- error_code eval
[404, 403, 200]
--- response_body eval
[qq({"error":"not_found","error_description":"No such resource for this beneficiary"}\n),
 qq({"error":"forbidden","error_description":"The search names another beneficiary"}\n),
 "backend GET /v2/fhir/Coverage?beneficiary=$::Alice&_count=10&_format=application%2Ffhir%2Bjson bb=[] x=[patientId:$::Alice] client=[] authorization=[]\n"]



=== TEST 5: an allow in one location, then a rewrite into the API
--- config
    location /api/ {
        bluebutton on;
        try_files /nonexistent /rewritten$uri$is_args$args;
    }
    location /rewritten/ {
        rewrite ^/rewritten/api/(.*)$ /v2/fhir/$1 last;
    }
    location /v2/ {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        bluebutton_patient_header X-Patient-Id;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /api/Patient/$::Bob",
 "GET /api/ExplanationOfBenefit?patient=$::Bob",
 "GET /api/ExplanationOfBenefit"]
--- error_code eval
[404, 403, 200]
--- response_body eval
[qq({"error":"not_found","error_description":"No such resource for this beneficiary"}\n),
 qq({"error":"forbidden","error_description":"The search names another beneficiary"}\n),
 "backend GET /v2/fhir/ExplanationOfBenefit?patient=$::Alice&_count=10&_format=application%2Ffhir%2Bjson bb=[] x=[patientId:$::Alice] client=[] authorization=[]\n"]



=== TEST 6: X-Accel-Redirect from the backend into a FHIR location
--- config
    location /go/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT/accel/;
    }
    location /v2/ {
        internal;
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        bluebutton_patient_header X-Patient-Id;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /go/?to=/v2/fhir/Patient/$::Bob",
 "GET /go/?to=/v2/fhir/ExplanationOfBenefit&q=patient=$::Bob",
 "GET /go/?to=/v2/fhir/ExplanationOfBenefit"]
--- error_code eval
[404, 403, 200]
--- response_body eval
[qq({"error":"not_found","error_description":"No such resource for this beneficiary"}\n),
 qq({"error":"forbidden","error_description":"The search names another beneficiary"}\n),
 "backend GET /v2/fhir/ExplanationOfBenefit?patient=$::Alice&_count=10&_format=application%2Ffhir%2Bjson bb=[] x=[patientId:$::Alice] client=[] authorization=[]\n"]



=== TEST 7: a location with its own scopes checks them after a redirect
--- config
    location / {
        bluebutton on;
        root html;
        try_files $uri @claims;
    }
    location @claims {
        bluebutton on;
        bluebutton_scope patient/Claim.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /anything
--- error_code: 403
--- response_body
{"error":"insufficient_scope","error_description":"The access token does not grant the scope this resource requires","scope":"patient/Claim.read"}



=== TEST 8: other token rules in the second location: the token is checked again there
--- config
    location / {
        bluebutton on;
        root html;
        try_files $uri @strict;
    }
    location @strict {
        bluebutton on;
        bluebutton_max_token_size 2;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /anything
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token is too large"}



=== TEST 9: a subrequest into a bluebutton location is checked there
--- config
    location /p/ {
        bluebutton on;
        auth_request /check;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /check {
        internal;
        bluebutton on;
        bluebutton_scope patient/Claim.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /q/ {
        bluebutton on;
        auth_request /check-coverage;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /check-coverage {
        internal;
        bluebutton on;
        bluebutton_scope patient/Coverage.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /p/x", "GET /q/x"]
--- error_code eval
[403, 200]
--- response_body_like eval
[".", "^backend GET /q/x bb=\\[patientId:$::Alice\\] x=\\[patientId:$::Bob\\]"]



=== TEST 10: the backend redirects a patient's own read to another's, in the same location
--- config
    location /v2/ {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
"GET /v2/fhir/Patient/$::Alice"
--- more_headers
Authorization: Bearer tok
X-Hop: 1
--- error_code: 404
--- response_body
{"error":"not_found","error_description":"No such resource for this beneficiary"}
