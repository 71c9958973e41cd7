# bluebutton_introspection against the journey's authorization server
# (contrib/authorization-server, oidc-provider): tokens from a scripted
# sign-in and authorization, asked of its RFC 7662 endpoint as the
# gateway's own client; its bridge wrote the grants the gateway reads.
# Calls are counted in the introspection location's own log; an app's
# RFC 7009 revocation is seen on the next request with ttl=0, and once the
# ttl has passed with the cache; the answer's "aud" checked by audience=.

use Test::Nginx::Socket -d 'contrib/node_modules/oidc-provider'
    ? 'no_plan'
    : (skip_all => 'contrib/node_modules is missing: make deps');
use BB;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use File::Temp qw(tempdir);
use Time::HiRes ();

repeat_each(1);
no_shuffle();
master_on();
check_accum_error_log();

our $AsPort = $ENV{TEST_NGINX_AS_PORT} || 1981;
our $Issuer = "http://127.0.0.1:$AsPort";
our $Redirect = 'http://127.0.0.1:1/';
our $State = tempdir(CLEANUP => 1);
our $Secret = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 40;
our $Basic = encode_base64("bluebutton-gateway:$Secret", '');
our $AsPid;

BB::write_file("$State/gateway-secret", "$Secret\n");

# the authorization server, for the whole file, on the suite's Redis
$AsPid = fork // die "fork: $!";
if ($AsPid == 0) {
    open STDOUT, '>', "$State/as.log";
    open STDERR, '>&', \*STDOUT;
    $ENV{BBAS_ISSUER} = $Issuer;
    $ENV{BBAS_FHIR_BASE} = 'http://127.0.0.1:'
        . ($ENV{TEST_NGINX_SERVER_PORT} || 1984) . '/v2/fhir';
    $ENV{BBAS_APP_ORIGIN} = 'http://127.0.0.1:1';
    $ENV{BBAS_PORT} = $AsPort;
    $ENV{BBAS_STATE_DIR} = "$State/as";
    $ENV{BBAS_REDIS_URL} = 'redis://127.0.0.1:' . BB::port();
    $ENV{BBAS_GATEWAY_SECRET_FILE} = "$State/gateway-secret";
    exec 'node', 'contrib/authorization-server/server.js';
    die "node: $!";
}

END { kill 'TERM', $AsPid if $AsPid }

for (1 .. 100) {
    last if HTTP::Tiny->new(timeout => 1)
        ->get("$Issuer/.well-known/openid-configuration")->{success};
    Time::HiRes::sleep(0.1);
}

# a beneficiary's sign-in and Allow, as the browser would make them; an
# app authorized again by the same beneficiary replaces its grant and the
# grant's tokens, so each block has a beneficiary and app of its own
sub authorize {
    my ($user, $client) = @_;
    my $out = `node contrib/authorization-server/scripted-authorize.js --issuer $Issuer --client $client --redirect $Redirect --username $user --password $user-demo`;
    my $answer = eval { JSON::PP->new->decode($out) } || {};
    return $answer->{access_token} || die "no token: $out\n";
}

# RFC 7009, as the app revokes its own token
sub revoke {
    my ($token, $client) = @_;
    my $res = HTTP::Tiny->new->post_form("$Issuer/v2/o/revoke",
        { token => $token, client_id => $client });
    die "revocation: $res->{status}\n" unless $res->{status} == 200;
}

sub calls {
    my $root = $ENV{TEST_NGINX_SERVROOT} || 't/servroot';
    open my $fh, '<', "$root/logs/introspect.log" or return 0;
    my @lines = <$fh>;
    return scalar @lines;
}

sub expect_calls {
    my ($n) = @_;
    return sub { my $got = calls(); die "$got calls, not $n\n" unless $got == $n };
}

our %Patient = (alice => '-20140000008325', bob => '-20140000010000');
our %Tokens;
our %Ok;

for (['t1', 'alice', 'smart-demo-app'], ['t2', 'bob', 'smart-demo-app'],
     ['t3', 'alice', 'smart-demo-app-study'],
     ['t4', 'bob', 'smart-demo-app-study'])
{
    my ($name, $user, $client) = @$_;
    $Tokens{$name} = authorize($user, $client);
    $Ok{$name} = "backend GET /v2/fhir/Coverage patient=[patientId:$Patient{$user}] client=[$client] app=[] authorization=[]\n";
}

add_block_preprocessor(sub {
    my $block = shift;

    BB::defaults($block);

    my $ttl = $block->ttl // '';
    my $secret = $block->basic // $main::Basic;

    $block->set_value('config', <<"END" . $BB::Control) unless defined $block->config;
    add_header X-Cache \$bluebutton_cache_status always;

    location /v2/fhir/ {
        bluebutton on;
        bluebutton_introspection /_introspect $ttl;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_BACKEND_PORT;
    }

    location = /_introspect {
        internal;
        proxy_pass $main::Issuer/v2/o/introspect;
        proxy_set_header Authorization "Basic $secret";
        proxy_read_timeout 5s;
        log_subrequest on;
        access_log logs/introspect.log;
    }
END

    if (defined(my $token = $block->token)) {
        $block->set_value('more_headers', "Authorization: Bearer $token");
    }
});

run_tests();

__DATA__

=== TEST 1: a token from the journey: each request asks the server (ttl=0), the grant read from Redis
--- init
BB::start_control(undef, three => main::expect_calls(3));
--- token eval: $main::Tokens{t1}
--- pipelined_requests eval
["GET /v2/fhir/Coverage", "GET /v2/fhir/Coverage",
 "GET /v2/fhir/Coverage", "GET /control/do/three"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[$main::Ok{t1}, $main::Ok{t1}, $main::Ok{t1}, "ok\n"]
--- no_error_log
[error]



=== TEST 2: ttl=0: the app revokes its token at the server; the next request is refused
--- init
BB::start_control(undef, revoke => sub { main::revoke($main::Tokens{t2}, 'smart-demo-app') });
--- token eval: $main::Tokens{t2}
--- pipelined_requests eval
["GET /v2/fhir/Coverage", "GET /control/do/revoke",
 "GET /v2/fhir/Coverage"]
--- error_code eval
[200, 200, 401]
--- response_body eval
[$main::Ok{t2}, "ok\n", qq({"error":"invalid_token","error_description":"The access token is unknown or was revoked"}\n)]



=== TEST 3: ttl=2s with the cache: one call for three requests; a revocation at the server served within the ttl, refused after it
--- http_config
bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
bluebutton_cache zone=decisions:1m;
--- ttl: ttl=2s
--- init
BB::start_control(undef,
    one => main::expect_calls(1),
    revoke => sub { main::revoke($main::Tokens{t3}, 'smart-demo-app-study') },
    two => main::expect_calls(2));
--- token eval: $main::Tokens{t3}
--- pipelined_requests eval
["GET /control/pause/100",
 "GET /v2/fhir/Coverage", "GET /v2/fhir/Coverage",
 "GET /v2/fhir/Coverage", "GET /control/do/one",
 "GET /control/do/revoke", "GET /v2/fhir/Coverage",
 "GET /control/pause/2100", "GET /v2/fhir/Coverage",
 "GET /control/do/two"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 401, 200]
--- response_headers eval
["", "X-Cache: MISS", "X-Cache: HIT", "X-Cache: HIT", "", "", "X-Cache: HIT", "",
 "X-Cache: EXPIRED", ""]



=== TEST 4: the gateway's client with a wrong secret: the server answers 401, the client gets 503
--- basic eval: MIME::Base64::encode_base64("bluebutton-gateway:not-the-secret-0000000000000000000", '')
--- token eval: $main::Tokens{t4}
--- request
GET /v2/fhir/Coverage
--- error_code: 503
--- response_headers
Retry-After: 5
--- error_log
answered 401



=== TEST 5: a token the server never issued is inactive: 401
--- token: made-up-token-0123456789
--- request
GET /v2/fhir/Coverage
--- error_code: 401
--- error_log
The access token is unknown or was revoked



=== TEST 6: audience=: the server's answer names the FHIR base its tokens are for (resource indicators): allowed
--- ttl: audience=http://127.0.0.1:$TEST_NGINX_SERVER_PORT/v2/fhir
--- token eval: $main::Tokens{t4}
--- request
GET /v2/fhir/Coverage
--- error_code: 200
--- response_body eval: $main::Ok{t4}



=== TEST 7: audience= naming another resource server: the same active token is refused, 401, and the log says why
--- ttl: audience=https://other.example/fhir
--- token eval: $main::Tokens{t1}
--- request
GET /v2/fhir/Coverage
--- error_code: 401
--- error_log
is for another audience than "https://other.example/fhir"
