# bluebutton_fhir: scopes derived from the route, the patient compartment,
# the Blue Button API surface, upstream headers and FHIR error bodies.
# The backend here echoes what reached it, which is not FHIR: these blocks
# look at the request side with bluebutton_fhir_answers off, and
# t/190-fhir-answers.t checks the answers.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();

our $Alice = '-20140000008325';
our $Bob = '-20140000010000';

add_block_preprocessor(sub {
    my $block = shift;

    # "--- echo_url": a backend that answers with the URL it was told of
    if (defined $block->echo_url) {
        $block->set_value('http_config', <<'END' . ($block->http_config || ''));
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        location / {
            return 200 "url=[$http_bluebutton_originalurl]\n";
        }
    }
END
    }

    # "--- audit_rt": an access log of resource type and decision, written
    # into error.log where error_log can read it
    if (defined $block->audit_rt) {
        $block->set_value('http_config', <<'END');
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    log_format rt "rt=$bluebutton_resource_type decision=$bluebutton_decision";
END
        $block->set_value('config', <<'END');
    location / {
        bluebutton on;
        bluebutton_fhir on;
        access_log logs/error.log rt;
        return 200 "should be unreachable for protected routes\n";
    }
    location /v2/ {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        access_log logs/error.log rt;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
END
    }

    BB::defaults($block);

    if (!defined $block->config) {
        $block->set_value('config', <<'END');
    location / {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
END
    }

    # "--- scopes: ..." seeds Alice's token with those scopes
    if (defined(my $scopes = $block->scopes)) {
        chomp $scopes;
        $block->set_value('init', "BB::flush(); BB::consent('tok', scope => q{$scopes});")
            unless defined $block->init;
    }

    $block->set_value('more_headers', 'Authorization: Bearer tok')
        unless defined $block->more_headers;
});

no_root_location();
run_tests();

__DATA__

=== TEST 1: a search gets the patient parameter set before it reaches the backend
--- scopes: patient/ExplanationOfBenefit.read
--- request
GET /v2/fhir/ExplanationOfBenefit
--- error_code: 200
--- response_body
backend GET /v2/fhir/ExplanationOfBenefit?patient=-20140000008325&_count=10&_format=application%2Ffhir%2Bjson patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]



=== TEST 2: other parameters are kept, the patient one added
--- scopes: patient/ExplanationOfBenefit.read
--- request
GET /v1/fhir/ExplanationOfBenefit?_count=10&type=carrier
--- error_code: 200
--- response_body
backend GET /v1/fhir/ExplanationOfBenefit?_count=10&type=carrier&patient=-20140000008325&_format=application%2Ffhir%2Bjson patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]



=== TEST 3: the token's own patient, plain or as a reference, passes unchanged
--- scopes: patient/ExplanationOfBenefit.read
--- request eval
["GET /v2/fhir/ExplanationOfBenefit?patient=$::Alice",
 "GET /v2/fhir/ExplanationOfBenefit?patient=Patient/$::Alice&_count=5"]
--- error_code eval
[200, 200]
--- response_body eval
["backend GET /v2/fhir/ExplanationOfBenefit?patient=$::Alice&_count=10&_format=application%2Ffhir%2Bjson patient=[patientId:$::Alice] client=[app-1] app=[] authorization=[]\n",
 "backend GET /v2/fhir/ExplanationOfBenefit?patient=Patient/$::Alice&_count=5&_format=application%2Ffhir%2Bjson patient=[patientId:$::Alice] client=[app-1] app=[] authorization=[]\n"]



=== TEST 4: a search naming another beneficiary: 403, and the backend is not asked
--- scopes: patient/ExplanationOfBenefit.read
--- request eval
"GET /v2/fhir/ExplanationOfBenefit?patient=$::Bob"
--- error_code: 403
--- response_headers
!WWW-Authenticate
Content-Type: application/json
--- response_body
{"error":"forbidden","error_description":"The search names another beneficiary"}
--- error_log
bluebutton: forbidden (patient_mismatch): The search names another beneficiary
--- no_error_log
backend GET



=== TEST 5: repeated, encoded, listed, modified and chained patient parameters
--- scopes: patient/ExplanationOfBenefit.read
--- request eval
["GET /v2/fhir/ExplanationOfBenefit?patient=$::Alice&patient=$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?patient=$::Bob&patient=$::Alice",
 "GET /v2/fhir/ExplanationOfBenefit?patient=%2D20140000010000",
 "GET /v2/fhir/ExplanationOfBenefit?patient=%2D20140000008325",
 "GET /v2/fhir/ExplanationOfBenefit?patient=$::Alice,$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?patient:missing=true",
 "GET /v2/fhir/ExplanationOfBenefit?patient.identifier=x",
 "GET /v2/fhir/ExplanationOfBenefit?pat%69ent=$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?patient=",
 "GET /v2/fhir/ExplanationOfBenefit?patient=Patient/"]
--- error_code eval
[403, 403, 403, 200, 403, 403, 403, 403, 403, 403]



=== TEST 6: Coverage is bound by beneficiary=
--- scopes: patient/Coverage.read
--- request eval
["GET /v2/fhir/Coverage", "GET /v2/fhir/Coverage?beneficiary=Patient/$::Bob",
 "GET /v2/fhir/Coverage?beneficiary=$::Alice"]
--- error_code eval
[200, 403, 200]
--- response_body eval
["backend GET /v2/fhir/Coverage?beneficiary=$::Alice&_count=10&_format=application%2Ffhir%2Bjson patient=[patientId:$::Alice] client=[app-1] app=[] authorization=[]\n",
 qq({"error":"forbidden","error_description":"The search names another beneficiary"}\n),
 "backend GET /v2/fhir/Coverage?beneficiary=$::Alice&_count=10&_format=application%2Ffhir%2Bjson patient=[patientId:$::Alice] client=[app-1] app=[] authorization=[]\n"]



=== TEST 7: Patient is bound by _id=, and another's _id is not found, as the Blue Button API says
--- scopes: patient/Patient.read
--- request eval
["GET /v2/fhir/Patient", "GET /v2/fhir/Patient?_id=$::Bob"]
--- error_code eval
[200, 404]
--- response_body eval
["backend GET /v2/fhir/Patient?_id=$::Alice&_count=10&_format=application%2Ffhir%2Bjson patient=[patientId:$::Alice] client=[app-1] app=[] authorization=[]\n",
 qq({"error":"not_found","error_description":"The search names another beneficiary"}\n)]



=== TEST 8: reading one's own Patient resource, and another's: 404
--- scopes: patient/Patient.read
--- request eval
["GET /v2/fhir/Patient/$::Alice", "GET /v2/fhir/Patient/$::Bob"]
--- error_code eval
[200, 404]
--- response_body eval
["backend GET /v2/fhir/Patient/$::Alice?_format=application%2Ffhir%2Bjson patient=[patientId:$::Alice] client=[app-1] app=[] authorization=[]\n",
 qq({"error":"not_found","error_description":"No such resource for this beneficiary"}\n)]



=== TEST 9: reads of claims go to the backend with the identity, and only _format
--- scopes: patient/ExplanationOfBenefit.read
--- request
GET /v2/fhir/ExplanationOfBenefit/carrier-1234?_count=5&excludeSAMHSA=false
--- error_code: 200
--- response_body
backend GET /v2/fhir/ExplanationOfBenefit/carrier-1234?_format=application%2Ffhir%2Bjson patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]



=== TEST 10: v2 .r reads but does not search
--- scopes: patient/ExplanationOfBenefit.r
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /v2/fhir/ExplanationOfBenefit"]
--- error_code eval
[200, 403]
--- response_headers eval
["", qq(WWW-Authenticate: Bearer realm="bluebutton", error="insufficient_scope", error_description="The access token does not grant the scope this resource requires", scope="patient/ExplanationOfBenefit.read")]



=== TEST 11: v2 .s searches but does not read
--- scopes: patient/ExplanationOfBenefit.s
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /v2/fhir/ExplanationOfBenefit"]
--- error_code eval
[403, 200]



=== TEST 12: v2 .rs, v1 .read and wildcards do both
--- scopes: patient/Coverage.rs patient/ExplanationOfBenefit.read patient/*.r patient/*.s
--- request eval
["GET /v2/fhir/Coverage/part-a-1", "GET /v2/fhir/Coverage",
 "GET /v2/fhir/ExplanationOfBenefit/x", "GET /v2/fhir/ExplanationOfBenefit",
 "GET /v3/fhir/Patient/$::Alice", "GET /v3/fhir/Patient"]
--- error_code eval
[200, 200, 200, 200, 200, 200]



=== TEST 13: userinfo needs profile
--- scopes: patient/Patient.read
--- request
GET /v2/connect/userinfo
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="insufficient_scope", error_description="The access token does not grant the scope this resource requires", scope="profile"



=== TEST 14: userinfo with profile
--- scopes: profile
--- request
GET /v1/connect/userinfo
--- error_code: 200
--- response_body
backend GET /v1/connect/userinfo patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]



=== TEST 15: declined demographics: no Patient, no userinfo, claims still readable
--- scopes: patient/ExplanationOfBenefit.read patient/Coverage.read
--- request eval
["GET /v2/fhir/Patient/$::Alice", "GET /v2/fhir/Patient", "GET /v2/connect/userinfo",
 "GET /v2/fhir/ExplanationOfBenefit", "GET /v2/fhir/Coverage"]
--- error_code eval
[403, 403, 403, 200, 200]



=== TEST 16: metadata and .well-known need no token, and get no identity
--- init
BB::flush();
--- more_headers
BlueButton-BeneficiaryId: patientId:-20140000010000
--- request eval
["GET /v2/fhir/metadata", "GET /.well-known/smart-configuration"]
--- error_code eval
[200, 200]
--- response_body eval
["backend GET /v2/fhir/metadata patient=[] client=[] app=[] authorization=[]\n",
 "backend GET /.well-known/smart-configuration patient=[] client=[] app=[] authorization=[]\n"]



=== TEST 17: unknown types and paths: 404 without asking Redis or the backend
--- init
BB::flush();
--- request eval
["GET /v2/fhir/Observation", "GET /v2/other", "GET /v4/fhir/Patient",
 "GET /v2/fhir/Patient/x/_history", "GET /v2/fhir/patient", "GET /v2/fhir",
 "GET /v2/fhir/Patient/a:b"]
--- error_code eval
[404, 404, 404, 404, 404, 404, 404]
--- response_body eval
[(qq({"error":"not_found","error_description":"No such resource in this API"}\n)) x 7]
--- no_error_log
backend GET



=== TEST 18: bluebutton_fhir_types sets the resource types served
--- scopes: patient/Observation.read
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_types Observation Patient;
        bluebutton_fhir_answers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/Observation", "GET /v2/fhir/Coverage"]
--- error_code eval
[200, 404]
--- response_body eval
["backend GET /v2/fhir/Observation?patient=-20140000008325&_count=10&_format=application%2Ffhir%2Bjson patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 qq({"error":"not_found","error_description":"No such resource in this API"}\n)]



=== TEST 19: only GET and HEAD
--- scopes: patient/ExplanationOfBenefit.read
--- request eval
["POST /v2/fhir/ExplanationOfBenefit\n{}", "DELETE /v2/fhir/ExplanationOfBenefit/x",
 "PUT /v2/fhir/Patient/-20140000008325\n{}", "HEAD /v2/fhir/ExplanationOfBenefit"]
--- error_code eval
[405, 405, 405, 200]
--- response_headers eval
["Allow: GET, HEAD", "Allow: GET, HEAD", "Allow: GET, HEAD", "!Allow"]



=== TEST 20: an access token in the query string is refused, named plainly or encoded
--- scopes: patient/ExplanationOfBenefit.read
--- request eval
["GET /v2/fhir/ExplanationOfBenefit?access_token=tok",
 "GET /v2/fhir/ExplanationOfBenefit?_count=1&access%5Ftoken=tok"]
--- error_code eval
[400, 400]
--- response_body eval
[(qq({"error":"invalid_request","error_description":"Access tokens are accepted in the Authorization header only"}\n)) x 2]



=== TEST 21: a query string that does not decode
--- scopes: patient/ExplanationOfBenefit.read
--- request
GET /v2/fhir/ExplanationOfBenefit?patient=%zz
--- error_code: 400
--- response_body
{"error":"invalid_request","error_description":"The query string is malformed"}



=== TEST 22: paths that only normalize to a route are refused
--- scopes: patient/ExplanationOfBenefit.read patient/Patient.read patient/Coverage.read
--- request eval
["GET /v2/fhir/Coverage/../Patient/-20140000010000",
 "GET /v2/fhir/Coverage/..%2FPatient/-20140000010000",
 "GET /v2/fhir/Patient%2F-20140000010000",
 "GET //v2/fhir/Patient",
 "GET /v2/fhir/./Patient",
 "GET /v2/fhir/%50atient"]
--- error_code eval
[400, 400, 400, 400, 400, 400]
--- response_body eval
[(qq({"error":"invalid_request","error_description":"The request path must be sent in normal form"}\n)) x 6]
--- no_error_log
backend GET



=== TEST 23: FHIR clients get OperationOutcome bodies
--- init
BB::flush();
BB::consent('tok', scope => 'patient/Coverage.read');
--- more_headers
Authorization: Bearer tok
Accept: application/fhir+json, application/json;q=0.9
--- request eval
["GET /v2/fhir/ExplanationOfBenefit", "GET /v2/fhir/Patient/-20140000010000",
 "GET /v2/fhir/Observation", "POST /v2/fhir/Coverage\n{}",
 "GET /v2/fhir/Coverage?beneficiary=-20140000010000"]
--- error_code eval
[403, 403, 404, 405, 403]
--- response_headers eval
[("Content-Type: application/fhir+json") x 5]
--- response_body eval
[qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"The access token does not grant the scope this resource requires"}]}\n),
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"The access token does not grant the scope this resource requires"}]}\n),
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"No such resource in this API"}]}\n),
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-supported","diagnostics":"Only GET and HEAD are supported"}]}\n),
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"The search names another beneficiary"}]}\n)]



=== TEST 24: OperationOutcome for a missing token, an unknown token, and Redis down
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        location / { return 200 "backend\n"; }
    }
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /down/ {
        bluebutton on;
        bluebutton_fhir on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- init
BB::flush();
--- more_headers
Accept: application/fhir+json
--- request eval
["GET /v2/fhir/Coverage"]
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton"
Content-Type: application/fhir+json
--- response_body
{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login","diagnostics":"The request carries no bearer token"}]}



=== TEST 25: OperationOutcome when Redis cannot be asked: transient
--- http_config
    bluebutton_redis 127.0.0.1:1988;
--- more_headers
Authorization: Bearer tok
Accept: application/fhir+json
--- request
GET /v2/fhir/Coverage
--- error_code: 503
--- response_headers
Retry-After: 5
Content-Type: application/fhir+json
--- response_body
{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"The consent service is temporarily unavailable"}]}



=== TEST 26: the backend gets the original URL and query and the request id, never the client's copies
--- init
BB::flush();
BB::consent('tok', scope => 'patient/ExplanationOfBenefit.read');
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    log_format ids "request_id=$request_id";
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        location / {
            return 200 "url=[$http_bluebutton_originalurl] query=[$http_bluebutton_originalquery] id=[$http_bluebutton_originalqueryid] uri=[$request_uri]\n";
        }
    }
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        access_log logs/error.log ids;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- more_headers
Authorization: Bearer tok
BlueButton-OriginalUrl: https://evil/
BlueButton-OriginalQuery: patient=x
BlueButton-OriginalQueryId: 1
--- request
GET /v2/fhir/ExplanationOfBenefit?_count=2
--- error_code: 200
--- response_body_like
^url=\[http://localhost/v2/fhir/ExplanationOfBenefit\?_count=2\] query=\[_count=2\] id=\[[0-9a-f]{32}\] uri=\[/v2/fhir/ExplanationOfBenefit\?_count=2&patient=-20140000008325&_format=application%2Ffhir%2Bjson\]$



=== TEST 26b: the original URL keeps the port the client used
--- scopes: patient/Patient.read
--- echo_url
--- request
GET /v2/fhir/Patient?_id=-20140000008325
--- more_headers
Authorization: Bearer tok
Host: 127.0.0.1:8080
--- error_code: 200
--- response_body
url=[http://127.0.0.1:8080/v2/fhir/Patient?_id=-20140000008325]



=== TEST 26c: an absolute request target names the authority, port included
--- scopes: patient/Patient.read
--- echo_url
--- request
GET http://gw.example:8443/v2/fhir/Patient HTTP/1.1
--- more_headers
Authorization: Bearer tok
Host: other.example
--- error_code: 200
--- response_body
url=[http://gw.example:8443/v2/fhir/Patient]



=== TEST 26d: bluebutton_original_url behind a TLS-terminating load balancer
--- scopes: patient/Patient.read
--- echo_url
--- http_config
    bluebutton_original_url $http_x_forwarded_proto://$http_x_forwarded_host$request_uri;
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /v3/ {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        bluebutton_original_url https://api.example$request_uri;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/Patient?_id=-20140000008325", "GET /v3/fhir/Patient"]
--- more_headers
Authorization: Bearer tok
X-Forwarded-Proto: https
X-Forwarded-Host: api.example:8443
--- error_code eval
[200, 200]
--- response_body eval
["url=[https://api.example:8443/v2/fhir/Patient?_id=-20140000008325]\n",
 "url=[https://api.example/v3/fhir/Patient]\n"]



=== TEST 26e: a configured URL that would not be a header value is a server error
--- scopes: patient/Patient.read
--- echo_url
--- http_config
    bluebutton_original_url "http://a\tb$request_uri";
--- request
GET /v2/fhir/Patient
--- error_code: 500
--- error_log
bluebutton: "bluebutton_original_url" gave a value with a control character



=== TEST 26f: bluebutton_original_url is checked by nginx -t
--- config
    location / {
        bluebutton_original_url https://$no_such_variable$request_uri;
    }
--- must_die
--- error_log
unknown "no_such_variable" variable



=== TEST 27: bluebutton_scope still applies on top of the derived scope
--- scopes: patient/ExplanationOfBenefit.read
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_scope openid;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/ExplanationOfBenefit
--- error_code: 403
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="insufficient_scope", error_description="The access token does not grant the scope this resource requires", scope="openid"



=== TEST 28: $bluebutton_resource_type for the audit log: an allowed search
--- scopes: patient/ExplanationOfBenefit.read profile
--- audit_rt
--- request
GET /v2/fhir/ExplanationOfBenefit
--- error_code: 200
--- error_log
rt=ExplanationOfBenefit decision=allow
--- no_error_log
rt=-



=== TEST 28b: $bluebutton_resource_type for the audit log: an allowed userinfo
--- scopes: patient/ExplanationOfBenefit.read profile
--- audit_rt
--- request
GET /v2/connect/userinfo
--- error_code: 200
--- error_log
rt=userinfo decision=allow
--- no_error_log
rt=-



=== TEST 28d: a public route logs the decision "public", and the refusal cause of a search
--- scopes: patient/ExplanationOfBenefit.read profile
--- audit_rt
--- request
GET /v2/fhir/metadata
--- error_log
rt=- decision=public



=== TEST 28c: $bluebutton_resource_type for the audit log: a refused read
--- scopes: patient/ExplanationOfBenefit.read profile
--- audit_rt
--- request
GET /v2/fhir/Coverage
--- error_code: 403
--- error_log
rt=Coverage decision=insufficient_scope
--- no_error_log
rt=-



=== TEST 29: a resource type that is not one
--- config
    location / {
        bluebutton_fhir_types Patient coverage;
    }
--- must_die
--- error_log
invalid resource type "coverage" in "bluebutton_fhir_types"



=== TEST 30: bluebutton_fhir_types twice
--- config
    location / {
        bluebutton_fhir_types Patient;
        bluebutton_fhir_types Coverage;
    }
--- must_die
--- error_log
"bluebutton_fhir_types" directive is duplicate



=== TEST 31: bluebutton_fhir with a bad value
--- config
    location / {
        bluebutton_fhir maybe;
    }
--- must_die
--- error_log
invalid value "maybe" in "bluebutton_fhir" directive



=== TEST 32: a public route redirected into a protected one is checked afresh
# with the token the client sent, which the public route had removed
--- scopes: patient/Patient.read
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        location / {
            return 200 "backend $request_uri patient=[$http_bluebutton_beneficiaryid]\n";
        }
    }
--- config
    location = /v2/fhir/metadata {
        bluebutton on;
        bluebutton_fhir on;
        try_files /nonexistent @patient;
    }
    location @patient {
        bluebutton on;
        bluebutton_scope patient/Patient.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/metadata
--- error_code: 200
--- response_body
backend /v2/fhir/metadata patient=[patientId:-20140000008325]



=== TEST 33: a rewrite into the API is routed by the rewritten path
--- scopes: patient/ExplanationOfBenefit.read
--- config
    location /api/ {
        rewrite ^/api/(.*)$ /v2/fhir/$1 last;
    }
    location /v2/ {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /api/ExplanationOfBenefit?_count=1", "GET /api/Coverage"]
--- error_code eval
[200, 403]
--- response_body eval
["backend GET /v2/fhir/ExplanationOfBenefit?_count=1&patient=-20140000008325&_format=application%2Ffhir%2Bjson patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 qq({"error":"insufficient_scope","error_description":"The access token does not grant the scope this resource requires","scope":"patient/Coverage.read"}\n)]



=== TEST 34: parameter names a lenient backend could take for the patient's: 400
--- scopes: patient/ExplanationOfBenefit.read patient/Coverage.read patient/Patient.read
--- request eval
["GET /v2/fhir/ExplanationOfBenefit?Patient=$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?x=1;patient=$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?patient%00=$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?patient[]=$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?PATIENT=$::Alice",
 "GET /v2/fhir/Coverage?Beneficiary=$::Bob",
 "GET /v2/fhir/Patient?_ID=$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?patient-name=x"]
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 200]
--- response_body eval
[(qq({"error":"invalid_request","error_description":"Search parameters must be separated by \\"&\\" and named exactly"}\n)) x 7,
 "backend GET /v2/fhir/ExplanationOfBenefit?patient=$::Alice&_count=10&_format=application%2Ffhir%2Bjson patient=[patientId:$::Alice] client=[app-1] app=[] authorization=[]\n"]



=== TEST 35: $bluebutton_refusal_cause for refusals of the route, the patient and the scope
--- scopes: patient/ExplanationOfBenefit.read
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        add_header X-Cause $bluebutton_refusal_cause always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/Nothing", "POST /v2/fhir/Patient", "GET /v2/fhir/ExplanationOfBenefit?patient=$::Bob",
 "GET /v2/fhir/Coverage", "GET /v2/fhir/ExplanationOfBenefit?Patient=$::Bob",
 "GET /v2/fhir/ExplanationOfBenefit?access_token=x", "GET /v2/fhir//Patient"]
--- error_code eval
[404, 405, 403, 403, 400, 400, 400]
--- response_headers eval
["X-Cause: unknown_route", "X-Cause: method", "X-Cause: other_patient",
 "X-Cause: missing_scope", "X-Cause: ambiguous_query", "X-Cause: token_in_query",
 "X-Cause: path_not_normal"]



=== TEST 36: a Patient read is of the token's patient exactly: not a prefix of it, nor one longer
--- scopes: patient/Patient.read
--- request eval
["GET /v2/fhir/Patient/-2014000000832", "GET /v2/fhir/Patient/-201400000083251",
 "GET /v2/fhir/Patient/-20140000008325"]
--- error_code eval
[404, 404, 200]



=== TEST 37: a search names the patient exactly: an id that only starts with the token's is another's
--- scopes: patient/ExplanationOfBenefit.read
--- request eval
["GET /v2/fhir/ExplanationOfBenefit?patient=" . $::Alice . "0",
 "GET /v2/fhir/ExplanationOfBenefit?patient=Patient/" . $::Alice . "9"]
--- error_code eval
[403, 403]
