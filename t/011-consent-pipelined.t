# Requests pipelined on one keep-alive connection, with Redis changed
# between them through the control server: what a worker remembers of a
# token must never outlive what Redis says.  All responses of a pipelined
# block arrive before Test::Nginx checks the error log for the first of
# them, so this file checks the block's whole log after each request
# (check_accum_error_log), and grep_error_log_out gives the exact order
# in which the requests read Redis and what they decided.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();
check_accum_error_log();
add_block_preprocessor(sub {
    my $block = shift;

    BB::defaults($block);

    # "--- scope: S" adds a bluebutton_scope to the protected location
    my $scope = $block->scope;
    $scope = defined $scope ? "        bluebutton_scope $scope;\n" : '';
    $block->set_value('config', <<"END" . $BB::Control);
    location /v2/fhir/ {
        bluebutton on;
$scope        proxy_pass http://127.0.0.1:\$TEST_NGINX_BACKEND_PORT;
    }
END

    $block->set_value('grep_error_log', qr/bluebutton: (?:token record (?:read with|names) "[^"]+"(?: now)?|\w+ \(\w+\))/)
        unless defined $block->grep_error_log;
});

run_tests();

__DATA__

=== TEST 1: a token seen before is read with its grant in one MGET; a revocation still takes effect on the next request
--- init
BB::flush();
BB::consent('tok-alice');
BB::start_control(undef,
    revoke => sub { BB::revoke_grant('app-1', '-20140000008325') });
--- pipelined_requests eval
["GET /v2/fhir/Patient?n=1", "GET /v2/fhir/Patient?n=2",
 "GET /control/do/revoke", "GET /v2/fhir/Patient?n=4"]
--- more_headers
Authorization: Bearer tok-alice
--- error_code eval
[200, 200, 200, 401]
--- response_body eval
["backend GET /v2/fhir/Patient?n=1 patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "backend GET /v2/fhir/Patient?n=2 patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n",
 qq({"error":"invalid_token","error_description":"The beneficiary revoked this application's access"}\n)]
--- grep_error_log_out
bluebutton: token record read with "bb:grant:app-1:-20140000008325"
bluebutton: token record read with "bb:grant:app-1:-20140000008325"
bluebutton: invalid_token (consent_revoked)



=== TEST 2: a record that names another patient than it did is read through the script again
--- init
BB::flush();
BB::consent('tok-alice');
BB::grant('app-1', '-2');
BB::start_control(undef,
    move => sub {
        BB::token('tok-alice', patient => '-2');
        BB::revoke_grant('app-1', '-20140000008325');
    },
    away => sub { BB::token('tok-alice', patient => '-3') });
--- pipelined_requests eval
["GET /v2/fhir/Patient?n=1", "GET /control/do/move", "GET /v2/fhir/Patient?n=3",
 "GET /v2/fhir/Patient?n=4", "GET /control/do/away", "GET /v2/fhir/Patient?n=6"]
--- more_headers
Authorization: Bearer tok-alice
--- error_code eval
[200, 200, 200, 200, 200, 401]
--- response_body eval
["backend GET /v2/fhir/Patient?n=1 patient=[patientId:-20140000008325] client=[app-1] app=[] authorization=[]\n",
 "ok\n",
 "backend GET /v2/fhir/Patient?n=3 patient=[patientId:-2] client=[app-1] app=[] authorization=[]\n",
 "backend GET /v2/fhir/Patient?n=4 patient=[patientId:-2] client=[app-1] app=[] authorization=[]\n",
 "ok\n",
 qq({"error":"invalid_token","error_description":"The beneficiary revoked this application's access"}\n)]
--- grep_error_log_out
bluebutton: token record read with "bb:grant:app-1:-20140000008325"
bluebutton: token record names "bb:grant:app-1:-2" now
bluebutton: token record read with "bb:grant:app-1:-2"
bluebutton: token record read with "bb:grant:app-1:-2"
bluebutton: token record names "bb:grant:app-1:-3" now
bluebutton: invalid_token (consent_revoked)



=== TEST 3: a token seen before, then deleted, then issued again
--- init
BB::flush();
BB::consent('tok-alice');
BB::start_control(undef,
    delete => sub { BB::revoke_token('tok-alice') },
    issue => sub { BB::token('tok-alice') });
--- pipelined_requests eval
["GET /v2/fhir/Patient?n=1", "GET /control/do/delete", "GET /v2/fhir/Patient?n=3",
 "GET /control/do/issue", "GET /v2/fhir/Patient?n=5"]
--- more_headers
Authorization: Bearer tok-alice
--- error_code eval
[200, 200, 401, 200, 200]
--- grep_error_log_out
bluebutton: token record read with "bb:grant:app-1:-20140000008325"
bluebutton: invalid_token (invalid_token)



=== TEST 4: the record is read on every request: a narrower scope is seen at once
--- init
BB::flush();
BB::consent('tok-alice');
BB::start_control(undef,
    narrow => sub { BB::token('tok-alice', scope => 'patient/Coverage.read') });
--- scope: patient/Patient.read
--- pipelined_requests eval
["GET /v2/fhir/Patient?n=1", "GET /v2/fhir/Patient?n=2",
 "GET /control/do/narrow", "GET /v2/fhir/Patient?n=4"]
--- more_headers
Authorization: Bearer tok-alice
--- error_code eval
[200, 200, 200, 403]
--- grep_error_log_out
bluebutton: token record read with "bb:grant:app-1:-20140000008325"
bluebutton: token record read with "bb:grant:app-1:-20140000008325"
bluebutton: insufficient_scope (insufficient_scope)
