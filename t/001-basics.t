# The module's switch, the RFC 6750 challenge for requests without a
# usable bearer token, and configuration errors caught by nginx -t.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();

add_block_preprocessor(\&BB::defaults);

run_tests();

__DATA__

=== TEST 1: bluebutton off leaves a location alone
--- config
    location /open {
        bluebutton off;
        return 200 "open\n";
    }
--- request
GET /open
--- error_code: 200
--- response_body
open
--- no_error_log
[error]
bluebutton:



=== TEST 2: off is the default
--- config
    location /open {
        return 200 "open\n";
    }
--- request
GET /open
--- error_code: 200
--- response_body
open



=== TEST 3: no Authorization header: 401 with a bare challenge
--- config
    location /v2/fhir/Patient {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton"
Content-Type: application/json
Cache-Control: no-store
!Retry-After
--- response_body
{"error":"invalid_request","error_description":"The request carries no bearer token"}
--- error_log
bluebutton: invalid_request (invalid_request): The request carries no bearer token, token -
--- no_error_log
[error]



=== TEST 4: another scheme counts as no bearer token
--- config
    location /v2/fhir/Patient {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Basic dXNlcjpwYXNz
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton"



=== TEST 5: a scheme that only starts like Bearer is not Bearer
--- config
    location /v2/fhir/Patient {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearerx abc
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton"



=== TEST 6: Bearer without a token is a malformed request: 400
--- config
    location /v2/fhir/Patient {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="invalid_request", error_description="The Bearer authorization header has no token"
--- response_body
{"error":"invalid_request","error_description":"The Bearer authorization header has no token"}



=== TEST 7: a token with characters outside b64token: 400
--- config
    location /v2/fhir/Patient {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer abc def
--- error_code: 400
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="invalid_request", error_description="The bearer token is malformed"



=== TEST 8: padding only at the end of a token
--- config
    location /v2/fhir/Patient {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer ab=c
--- error_code: 400



=== TEST 9: bluebutton_realm is used in the challenge
--- config
    location /v2/fhir/Patient {
        bluebutton on;
        bluebutton_realm "Blue Button 2.0";
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="Blue Button 2.0"



=== TEST 10: settings inherit from the server level, a location may turn it off
--- config
    bluebutton on;
    bluebutton_realm outer;

    location /v2/fhir/Patient {
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location /v2/fhir/metadata {
        bluebutton off;
        return 200 "metadata\n";
    }
--- request eval
["GET /v2/fhir/Patient", "GET /v2/fhir/metadata"]
--- error_code eval
[401, 200]
--- response_body eval
[qq({"error":"invalid_request","error_description":"The request carries no bearer token"}\n), "metadata\n"]



=== TEST 11: a token over bluebutton_max_token_size is refused before any lookup
--- config
    location /v2/fhir/Patient {
        bluebutton on;
        bluebutton_max_token_size 16;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer 0123456789abcdefg
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton", error="invalid_token", error_description="The access token is too large"



=== TEST 12: HEAD gets the status and headers without a body
--- config
    location /v2/fhir/Patient {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
HEAD /v2/fhir/Patient
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="bluebutton"
--- response_body



=== TEST 13: $bluebutton_decision tells why, in logs and to other modules
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    log_format decision "decision=$bluebutton_decision hash=$bluebutton_token_hash patient=$bluebutton_patient";
--- config
    access_log logs/error.log decision;

    location /v2/fhir/Patient {
        bluebutton on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/Patient
--- more_headers
Authorization: Bearer
--- error_code: 400
--- error_log
decision=invalid_request hash=- patient=-



=== TEST 14: variables are empty where the module is off
--- config
    location /open {
        return 200 "decision=[$bluebutton_decision] patient=[$bluebutton_patient]\n";
    }
--- request
GET /open
--- response_body
decision=[] patient=[]



=== TEST 15: bad flag value
--- config
    location / {
        bluebutton yes;
    }
--- must_die
--- error_log
invalid value "yes" in "bluebutton" directive, it must be "on" or "off"



=== TEST 16: on without bluebutton_redis
--- http_config
--- config
    location / {
        bluebutton on;
    }
--- must_die
--- error_log
"bluebutton" is on but no "bluebutton_redis", "bluebutton_redis_sentinel", "bluebutton_redis_cluster" or "bluebutton_introspection" is configured for this server



=== TEST 17: a realm with a quote cannot go into the challenge
--- config
    location / {
        bluebutton_realm 'a"b';
    }
--- must_die
--- error_log
"bluebutton_realm" directive must not contain quotes, backslashes or control characters



=== TEST 18: an invalid SMART scope
--- config
    location / {
        bluebutton_scope patient/Patient.rx;
    }
--- must_die
--- error_log
invalid scope "patient/Patient.rx" in "bluebutton_scope"



=== TEST 19: v2 permissions out of order
--- config
    location / {
        bluebutton_scope patient/Patient.sr;
    }
--- must_die
--- error_log
invalid scope "patient/Patient.sr" in "bluebutton_scope"



=== TEST 20: an unresolvable Redis host fails at configuration time
--- http_config
    bluebutton_redis no-such-host.invalid:6379;
--- config
--- must_die
--- error_log
host not found in "bluebutton_redis" address "no-such-host.invalid:6379"



=== TEST 21: a bad Redis port
--- http_config
    bluebutton_redis 127.0.0.1:99999;
--- config
--- must_die
--- error_log
invalid port in "bluebutton_redis" address "127.0.0.1:99999"



=== TEST 22: bluebutton_redis twice
--- http_config
    bluebutton_redis 127.0.0.1:6379;
    bluebutton_redis 127.0.0.1:6380;
--- config
--- must_die
--- error_log
"bluebutton_redis" directive is duplicate



=== TEST 23: a database number out of range
--- http_config
    bluebutton_redis 127.0.0.1:6379;
    bluebutton_redis_database 70000;
--- config
--- must_die
--- error_log
"bluebutton_redis_database" directive must be between 0 and 65535



=== TEST 24: a bad timeout
--- http_config
    bluebutton_redis 127.0.0.1:6379;
    bluebutton_redis_timeout fast;
--- config
--- must_die
--- error_log
"bluebutton_redis_timeout" directive invalid value



=== TEST 24b: a zero timeout would refuse every request
--- http_config
    bluebutton_redis 127.0.0.1:6379;
    bluebutton_redis_timeout 0;
--- config
--- must_die
--- error_log
"bluebutton_redis_timeout" must be positive



=== TEST 25: an empty Redis password
--- http_config
    bluebutton_redis 127.0.0.1:6379;
    bluebutton_redis_auth "";
--- config
--- must_die
--- error_log
"bluebutton_redis_auth" directive takes a non-empty user and password



=== TEST 26: a key prefix with a space
--- http_config
    bluebutton_redis 127.0.0.1:6379;
    bluebutton_redis_prefix "bb :";
--- config
--- must_die
--- error_log
"bluebutton_redis_prefix" directive must be visible ASCII



=== TEST 27: a header name that is not a token
--- config
    location / {
        bluebutton_patient_header "X Patient";
    }
--- must_die
--- error_log
"bluebutton_patient_header" directive must be letters, digits and dashes



=== TEST 28: a zero token size limit
--- config
    location / {
        bluebutton_max_token_size 0;
    }
--- must_die
--- error_log
"bluebutton_max_token_size" must be positive



=== TEST 29: bluebutton_redis is not allowed in a location
--- config
    location / {
        bluebutton_redis 127.0.0.1:6379;
    }
--- must_die
--- error_log
"bluebutton_redis" directive is not allowed here



=== TEST 30: a bad bluebutton_retry_after
--- config
    location / {
        bluebutton_retry_after soon;
    }
--- must_die
--- error_log
"bluebutton_retry_after" directive invalid value



=== TEST 31: the module says its version when a configuration is loaded
--- config
    location /open {
        return 200 "open\n";
    }
--- request
GET /open
--- error_log eval
qr/\[notice\] .*ngx_bluebutton\/\d+\.\d+\.\d+/
