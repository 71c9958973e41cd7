# Browser apps: the CORS preflight is answered before the consent check,
# with no token and without asking Redis, as docs/examples/
# browser-apps-cors.conf configures it; the real request is checked in
# full, and its refusals carry Access-Control-Allow-Origin so that the app
# can read them.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();

our $App = 'https://app.example.org';

add_block_preprocessor(sub {
    my $block = shift;

    my $redis = $block->redis_down ? '127.0.0.1:1988'
                                   : '127.0.0.1:$TEST_NGINX_REDIS_PORT';

    $block->set_value('http_config', <<"END");
    bluebutton_redis $redis;

    map \$http_origin \$cors_origin {
        default                                "";
        "https://app.example.org"              \$http_origin;
    }
END

    BB::defaults($block);

    $block->set_value('config', <<'END');
    location / {
        if ($request_method = OPTIONS) {
            add_header Access-Control-Allow-Origin $cors_origin;
            add_header Access-Control-Allow-Methods "GET, HEAD";
            add_header Access-Control-Allow-Headers "Authorization, Accept";
            add_header Access-Control-Max-Age 600;
            add_header Vary Origin;
            return 204;
        }

        add_header Access-Control-Allow-Origin $cors_origin always;
        add_header Access-Control-Expose-Headers "WWW-Authenticate, Retry-After" always;
        add_header Vary Origin always;

        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
END

    $block->set_value('init', "BB::flush(); BB::consent('tok', scope => 'patient/ExplanationOfBenefit.read');")
        unless defined $block->init;
});

no_root_location();
run_tests();

__DATA__

=== TEST 1: a preflight is answered without a token, and without Redis
--- redis_down: 1
--- request
OPTIONS /v2/fhir/ExplanationOfBenefit
--- more_headers
Origin: https://app.example.org
Access-Control-Request-Method: GET
Access-Control-Request-Headers: authorization
--- error_code: 204
--- response_headers
Access-Control-Allow-Origin: https://app.example.org
Access-Control-Allow-Methods: GET, HEAD
Access-Control-Allow-Headers: Authorization, Accept
Access-Control-Max-Age: 600
!WWW-Authenticate
--- no_error_log
bluebutton:
[error]



=== TEST 2: a preflight from an origin not listed gets no CORS headers
--- request
OPTIONS /v2/fhir/ExplanationOfBenefit
--- more_headers
Origin: https://evil.example
Access-Control-Request-Method: GET
--- error_code: 204
--- response_headers
!Access-Control-Allow-Origin



=== TEST 3: the real request without a token: 401 the app can read
--- request
GET /v2/fhir/ExplanationOfBenefit
--- more_headers
Origin: https://app.example.org
--- error_code: 401
--- response_headers
Access-Control-Allow-Origin: https://app.example.org
Access-Control-Expose-Headers: WWW-Authenticate, Retry-After
WWW-Authenticate: Bearer realm="bluebutton"
--- response_body
{"error":"invalid_request","error_description":"The request carries no bearer token"}



=== TEST 4: the real request with its token is checked and allowed
--- request
GET /v2/fhir/ExplanationOfBenefit
--- more_headers
Origin: https://app.example.org
Authorization: Bearer tok
--- error_code: 200
--- response_headers
Access-Control-Allow-Origin: https://app.example.org
--- response_body
backend GET /v2/fhir/ExplanationOfBenefit?patient=-20140000008325&_count=10&_format=application%2Ffhir%2Bjson patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]



=== TEST 5: a scope the token lacks: 403 the app can read
--- request
GET /v2/fhir/Coverage
--- more_headers
Origin: https://app.example.org
Authorization: Bearer tok
--- error_code: 403
--- response_headers
Access-Control-Allow-Origin: https://app.example.org
WWW-Authenticate: Bearer realm="bluebutton", error="insufficient_scope", error_description="The access token does not grant the scope this resource requires", scope="patient/Coverage.read"



=== TEST 6: Redis down: 503 with Retry-After the app can read
--- redis_down: 1
--- request
GET /v2/fhir/ExplanationOfBenefit
--- more_headers
Origin: https://app.example.org
Authorization: Bearer tok
--- error_code: 503
--- response_headers
Access-Control-Allow-Origin: https://app.example.org
Retry-After: 5



=== TEST 7: a token sent with OPTIONS changes nothing: still no Redis
--- redis_down: 1
--- request
OPTIONS /v2/fhir/Patient
--- more_headers
Origin: https://app.example.org
Access-Control-Request-Method: GET
Authorization: Bearer tok
--- error_code: 204
--- no_error_log
bluebutton:
