# The consent gate against the real Redis: token records, grants, the
# identity the backend receives, and every refusal of the data contract.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();
add_block_preprocessor(\&BB::defaults);

run_tests();

__DATA__

=== TEST 1: a live token and grant: the backend gets the verified identity
--- init
BB::flush();
BB::consent('tok-alice', patient => '-20140000008325', client_id => 'app-1',
            app => 'Sample App');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/ExplanationOfBenefit?patient=-20140000008325
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 200
--- response_body
backend GET /v2/fhir/ExplanationOfBenefit?patient=-20140000008325 patient=[patientId:-20140000008325] client=[app-1] app=[Sample App] authorization=[]
--- no_error_log eval
[qr/\[error\]/, qr/\[info\] .*bluebutton:/]



=== TEST 2: identity headers sent by the client never reach the backend
--- init
BB::flush();
BB::consent('tok-alice', patient => '-20140000008325', client_id => 'app-1',
            app => 'Sample App');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT/echo-extra/;
    }
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        location /echo-extra/ {
            return 200 "patient=[$http_bluebutton_beneficiaryid] client=[$http_bluebutton_applicationid] app=[$http_bluebutton_application] other=[$http_bluebutton_originalurl] kept=[$http_x_kept]\n";
        }
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
BlueButton-BeneficiaryId: patientId:-99999999999
bluebutton-applicationid: evil-app
BLUEBUTTON-APPLICATION: Evil
BlueButton-OriginalUrl: /elsewhere
X-Kept: yes
--- error_code: 200
--- response_body
patient=[patientId:-20140000008325] client=[app-1] app=[Sample App] other=[] kept=[yes]



=== TEST 3: a token record without an app name sends no app header
--- init
BB::flush();
BB::consent('tok-alice', app => undef);
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
BlueButton-Application: Spoofed
--- error_code: 200
--- response_body
backend GET /v2/fhir/Patient patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]



=== TEST 4: bluebutton_pass_authorization on keeps the token for the backend
--- init
BB::flush();
BB::consent('tok-alice', app => 'A');
--- config
    location /v2/fhir/ {
        bluebutton on;
        bluebutton_pass_authorization on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 200
--- response_body
backend GET /v2/fhir/Patient patient=[patientId:-20140000008325] client=[app-1] app=[A] authorization=[Bearer tok-alice]



=== TEST 5: configured header names are set, and client copies of them removed
--- init
BB::flush();
BB::consent('tok-alice', app => 'A');
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        location / {
            return 200 "patient=[$http_x_patient] client=[$http_x_client] app=[$http_x_app] default=[$http_bluebutton_beneficiaryid]\n";
        }
    }
--- config
    location /v2/fhir/ {
        bluebutton on;
        bluebutton_patient_header X-Patient;
        bluebutton_client_header X-Client;
        bluebutton_app_header X-App;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
X-Patient: patientId:-1
x-client: evil
X-App: evil
--- error_code: 200
--- response_body
patient=[patientId:-20140000008325] client=[app-1] app=[A] default=[]



=== TEST 6: the identity reaches a FastCGI backend too
--- init
BB::flush();
BB::consent('tok-alice', app => 'A');
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    log_format fcgi "fcgi $http_bluebutton_beneficiaryid $http_authorization.";
--- config
    location /v2/fhir/ {
        bluebutton on;
        access_log logs/error.log fcgi;
        fastcgi_pass 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        fastcgi_param HTTP_PROBE "$http_bluebutton_beneficiaryid";
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
BlueButton-BeneficiaryId: patientId:-1
--- error_code: 502
--- error_log
fcgi patientId:-20140000008325 -.



=== TEST 7: variables after an allowed request
--- init
BB::flush();
BB::consent('tok-alice', app => 'Sample App', scope => 'patient/Patient.rs profile');
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    log_format vars "vars patient=$bluebutton_patient client=$bluebutton_client_id app=$bluebutton_app scope=$bluebutton_scope hash=$bluebutton_token_hash decision=$bluebutton_decision";
--- config
    location /v2/fhir/ {
        bluebutton on;
        access_log logs/error.log vars;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 200
--- error_log eval
"vars patient=-20140000008325 client=app-1 app=Sample App scope=patient/Patient.rs profile hash="
. substr(Digest::SHA::sha256_hex('tok-alice'), 0, 16) . " decision=allow"



=== TEST 8: an unknown token
--- init
BB::flush();
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-nobody
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="invalid_token", error_description="The access token is unknown or was revoked"
Content-Type: application/json
--- response_body
{"error":"invalid_token","error_description":"The access token is unknown or was revoked"}
--- error_log eval
"bluebutton: invalid_token (invalid_token): The access token is unknown or was revoked, token "
. substr(Digest::SHA::sha256_hex('tok-nobody'), 0, 16)
--- no_error_log eval
[qr/bluebutton:.*tok-nobody/, "[error]"]



=== TEST 9: an expired token
--- init
BB::flush();
BB::consent('tok-old', exp => time() - 10);
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-old
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="invalid_token", error_description="The access token expired"
--- error_log
(token_expired)



=== TEST 10: the beneficiary revoked the grant: every token of that app is refused
--- init
BB::flush();
BB::token('tok-alice');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The beneficiary revoked this application's access"}
--- error_log
(consent_revoked)



=== TEST 11: the grant of another app does not count
--- init
BB::flush();
BB::token('tok-alice', client_id => 'app-1');
BB::grant('app-2', '-20140000008325');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 401
--- error_log
(consent_revoked)



=== TEST 12: an expired grant
--- init
BB::flush();
BB::token('tok-alice');
BB::grant('app-1', '-20140000008325', expires => time() - 1,
          data_access_type => 'THIRTEEN_MONTH');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The beneficiary's consent for this application expired"}
--- error_log
(consent_expired)



=== TEST 13: a grant that expires later still allows
--- init
BB::flush();
BB::token('tok-alice');
BB::grant('app-1', '-20140000008325', expires => time() + 600,
          data_access_type => 'ONE_TIME');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 200



=== TEST 14: a token issued before the current grant was created is superseded
--- init
BB::flush();
BB::token('tok-alice', iat => time() - 7200);
BB::grant('app-1', '-20140000008325', created => time() - 60);
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 401
--- response_body
{"error":"invalid_token","error_description":"The access token predates the beneficiary's current consent"}
--- error_log
(token_superseded)



=== TEST 15: revocation, part one: allowed while the grant exists
--- init
BB::flush();
BB::consent('tok-alice');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 200



=== TEST 16: revocation, part two: the very next request after DEL is refused
--- init
BB::revoke_grant('app-1', '-20140000008325');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 401
--- error_log
(consent_revoked)



=== TEST 17: revoking the token itself
--- init
BB::flush();
BB::consent('tok-alice');
BB::revoke_token('tok-alice');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 401
--- error_log
(invalid_token)



=== TEST 18: a token record that is not JSON: 503, and the error log says which
--- init
BB::flush();
BB::set(BB::token_key('tok-bad'), 'patient=-1');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-bad
--- error_code: 503
--- response_headers
Retry-After: 5
!WWW-Authenticate
--- response_body
{"error":"temporarily_unavailable","error_description":"The consent service is temporarily unavailable"}
--- error_log eval
qr/\[error\] .*bluebutton: temporarily_unavailable \(unavailable\): The consent service is temporarily unavailable: the token record is malformed \(not valid JSON\), token ${\ substr(Digest::SHA::sha256_hex('tok-bad'), 0, 16)}/



=== TEST 19: a token record with a patient id that is not a FHIR id
--- init
BB::flush();
BB::token('tok-bad', patient => "-1\r\nX-Injected: 1");
BB::grant('app-1', "-1\r\nX-Injected: 1");
--- config
    location /v2/fhir/ {
        bluebutton on;
        bluebutton_retry_after 30s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-bad
--- error_code: 503
--- response_headers
Retry-After: 30
--- error_log
the token record is malformed (token record has no valid "patient")



=== TEST 20: exp of the wrong JSON type is not coerced
--- init
BB::flush();
BB::token('tok-bad', exp => undef);
BB::set(BB::token_key('tok-bad'), '{"patient":"-1","client_id":"app-1","scope":"","exp":"9999999999"}');
BB::grant('app-1', '-1');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-bad
--- error_code: 503
--- error_log
token record has no valid "exp"



=== TEST 21: an app name with a control character
--- init
BB::flush();
BB::consent('tok-bad', app => "App\x01");
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-bad
--- error_code: 503
--- error_log
token record has an invalid "app"



=== TEST 22: a malformed grant
--- init
BB::flush();
BB::token('tok-alice');
BB::set(BB::grant_key('app-1', '-20140000008325'), '{"created":"yesterday"}');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 503
--- error_log
the grant of client "app-1" for patient "-20140000008325" is malformed (grant has no valid "created")



=== TEST 23: a token record of the wrong Redis type
--- init
BB::flush();
BB::redis('HSET', BB::token_key('tok-hash'), 'patient', '-1');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-hash
--- error_code: 503
--- error_log
redis answered: WRONGTYPE



=== TEST 24: bluebutton_redis_prefix moves every key
--- init
BB::flush();
{ local $BB::Prefix = 'gw:'; BB::consent('tok-alice'); }
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_redis_prefix gw:;
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 200



=== TEST 25: with the default prefix, keys under another prefix are unknown
--- init
BB::flush();
{ local $BB::Prefix = 'gw:'; BB::consent('tok-alice'); }
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 401



=== TEST 26: a Redis database other than 0
--- init
BB::flush();
{ local $BB::Db = 3; BB::consent('tok-db3', patient => '-1'); }
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    bluebutton_redis_database 3;
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-db3
--- error_code: 200
--- response_body
backend GET /v2/fhir/Patient patient=[patientId:-1] client=[app-1] app=[] authorization=[]



=== TEST 27: Redis over a unix socket
--- init
BB::flush();
BB::consent('tok-alice');
--- http_config
    bluebutton_redis unix:$TEST_NGINX_REDIS_SOCKET;
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 200



=== TEST 28: a server may use its own Redis settings
--- init
BB::flush();
BB::consent('tok-alice');
--- http_config
    bluebutton_redis 127.0.0.1:1;
--- config
    bluebutton_redis unix:$TEST_NGINX_REDIS_SOCKET;

    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 200



=== TEST 29: pipelined requests on one keep-alive connection, allowed and refused
--- init
BB::flush();
BB::consent('tok-alice', scope => 'patient/Patient.read');
--- config
    location /v2/fhir/Patient {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /v2/fhir/Coverage {
        bluebutton on;
        bluebutton_scope patient/Coverage.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- pipelined_requests eval
["GET /v2/fhir/Patient?n=1", "GET /v2/fhir/Coverage", "GET /v2/fhir/Patient?n=3", "GET /v2/fhir/Patient?n=4"]
--- more_headers
Authorization: Bearer tok-alice
--- error_code eval
[200, 403, 200, 200]
--- response_body eval
["backend GET /v2/fhir/Patient?n=1 patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 qq({"error":"insufficient_scope","error_description":"The access token does not grant the scope this resource requires","scope":"patient/Coverage.read"}\n),
 "backend GET /v2/fhir/Patient?n=3 patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "backend GET /v2/fhir/Patient?n=4 patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n"]



=== TEST 30: an internal redirect keeps the decision and the identity
--- init
BB::flush();
BB::consent('tok-alice');
--- config
    location /v2/fhir/ {
        bluebutton on;
        try_files /nonexistent @backend;
    }
    location @backend {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 200
--- response_body
backend GET /v2/fhir/Patient patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]



=== TEST 31: satisfy any cannot turn a refusal into an allow
--- init
BB::flush();
--- config
    location /v2/fhir/ {
        satisfy any;
        allow all;
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-nobody
--- error_code: 401



=== TEST 32: a request body is discarded with a refusal, POST or not
--- init
BB::flush();
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
POST /v2/fhir/Patient
{"resourceType":"Patient"}
--- more_headers
Authorization: Bearer tok-nobody
--- error_code: 401



=== TEST 33: a record that names another client and patient in a nested object is refused
--- init
BB::flush();
BB::grant('evil-app', '-2');
BB::grant('app-1', '-1');
BB::set(BB::token_key('tok-nested'), '{"x":{"client_id":"evil-app","patient":"-2"},"patient":"-1","client_id":"app-1","scope":"","exp":' . (time() + 600) . '}');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-nested
--- error_code: 503
--- error_log
the token record is malformed (its client and patient cannot be read unambiguously)



=== TEST 34: whitespace and key order in the record do not matter
--- init
BB::flush();
BB::grant('app-1', '-1');
BB::set(BB::token_key('tok-spaced'), '{ "exp" : ' . (time() + 600) . ' , "patient" :  "-1", "client_id"	: "app-1" }');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-spaced
--- error_code: 200
--- response_body
backend GET /v2/fhir/Patient patient=[patientId:-1] client=[app-1] app=[] authorization=[]



=== TEST 35: a record that says "patient" twice is ambiguous: 503
--- init
BB::flush();
BB::grant('app-1', '-1');
BB::grant('app-1', '-2');
BB::set(BB::token_key('tok-twice'), '{"patient":"-1","client_id":"app-1","scope":"","exp":' . (time() + 600) . ',"patient":"-2"}');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-twice
--- error_code: 503
--- error_log
the token record is malformed (JSON repeats a member)



=== TEST 36: JSON escapes in a record are read as JSON means them
--- init
BB::flush();
BB::grant('app-1', '-1');
BB::set(BB::token_key('tok-escaped'), '{"patient":"-1","client_id":"app-1","app":"Blue \"Button\"\/\u0041","scope":"","exp":' . (time() + 600) . ',"extra":{"a":"}"},"list":[1,"]"]}');
--- config
    location /v2/fhir/ {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-escaped
--- error_code: 200
--- response_body
backend GET /v2/fhir/Patient patient=[patientId:-1] client=[app-1] app=[Blue "Button"/A] authorization=[]



=== TEST 37: identity headers with "_" for "-", in any case, are removed too
# with underscores_in_headers on, a backend could read them as the real ones
--- init
BB::flush();
BB::consent('tok-alice', patient => '-20140000008325', client_id => 'app-1');
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        underscores_in_headers on;
        location / {
            return 200 "patient=[$http_bluebutton_beneficiaryid] client=[$http_bluebutton_applicationid] x=[$http_x_patient_id]\n";
        }
    }
--- config
    underscores_in_headers on;
    location /v2/fhir/ {
        bluebutton on;
        bluebutton_patient_header X-Patient-Id;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer tok-alice
BlueButton_BeneficiaryId: patientId:-20140000010000
bluebutton_applicationid: app-evil
X_PATIENT_ID: patientId:-20140000010000
--- error_code: 200
--- response_body
patient=[] client=[app-1] x=[patientId:-20140000008325]



=== TEST 38: bluebutton_log_level: refusals at the level asked for, with their cause
--- init
BB::flush();
--- config
    location /p {
        bluebutton on;
        bluebutton_log_level warn;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /p
--- more_headers
Authorization: Bearer tok-nobody
--- error_code: 401
--- error_log eval
qr/\[warn\] .*bluebutton: invalid_token \(invalid_token\): The access token is unknown or was revoked, token [0-9a-f]{16}, cause unknown_token/



=== TEST 38b: a 503 stays an error whatever bluebutton_log_level says
--- http_config
    bluebutton_redis 127.0.0.1:1989;
--- config
    location /p {
        bluebutton on;
        bluebutton_log_level info;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /p
--- more_headers
Authorization: Bearer tok
--- error_code: 503
--- error_log eval
qr/\[error\] .*bluebutton: temporarily_unavailable \(unavailable\): .*cause unavailable/



=== TEST 38c: $bluebutton_refusal_cause of the token's form
--- init
BB::flush();
--- config
    location /p {
        bluebutton on;
        add_header X-Cause $bluebutton_refusal_cause always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /p", "GET /p", "GET /p", "GET /p", "GET /p"]
--- more_headers eval
["Authorization: Bearer tok-nobody", "", "Authorization: Bearer !!",
 "Authorization: Bearer", "Authorization: Bearer tok#en"]
--- error_code eval
[401, 401, 400, 400, 400]
--- response_headers eval
["X-Cause: unknown_token", "X-Cause: no_token", "X-Cause: malformed_token",
 "X-Cause: empty_token", "X-Cause: malformed_token"]



=== TEST 39: bluebutton_log_level takes a level of nginx's
--- config
    location /p {
        bluebutton_log_level debug;
    }
--- must_die
--- error_log
invalid value "debug"



=== TEST 40: the boundaries: a grant whose expires is now, a token whose exp is now, are over
--- init
BB::flush();
BB::consent('tok-exp', exp => int(time()));
BB::token('tok-grant', client_id => 'app-2');
BB::grant('app-2', '-20140000008325', expires => int(time()));
--- config
    location /p {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /p", "GET /p"]
--- more_headers eval
["Authorization: Bearer tok-exp", "Authorization: Bearer tok-grant"]
--- error_code eval
[401, 401]
--- response_body eval
[qq({"error":"invalid_token","error_description":"The access token expired"}\n),
 qq({"error":"invalid_token","error_description":"The beneficiary's consent for this application expired"}\n)]



=== TEST 41: the token is gone from the request once checked: not in $http_authorization either
# so that no log_format or other module of the gateway sees it
--- init
BB::flush();
BB::consent('tok-alice');
--- config
    location /p {
        bluebutton on;
        add_header X-Auth "[$http_authorization]" always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /p
--- more_headers
Authorization: Bearer tok-alice
--- error_code: 200
--- response_headers
X-Auth: []
