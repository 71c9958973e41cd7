# bluebutton_status: counters in shared memory across two workers, in
# Prometheus' text format (checked by promtool) and as JSON with the same
# numbers, every family present from the start, surviving a reload.
#
# Under TEST_NGINX_USE_HUP one zone would count across all blocks, so the
# exact counts below are left to the modes that start nginx per block.

use Test::Nginx::Socket $ENV{TEST_NGINX_USE_HUP}
    ? (skip_all => 'exact counts need an nginx per block') : 'no_plan';
use BB;

repeat_each(1);
no_shuffle();
workers(2);
master_on();

BB::jwks('jwks-metrics.json', BB::jwk('rsa1'), BB::jwk('ec256'));

# the module's version, from the one place it is written
our ($Version) = do {
    local (@ARGV, $/) = (($ENV{TEST_NGINX_TOP} || '.')
                         . '/src/ngx_bluebutton_version.h');
    <> =~ /NGX_BLUEBUTTON_VERSION  "([^"]+)"/;
};

our @Decisions = qw(allow invalid_request invalid_token token_expired
    token_superseded consent_revoked consent_expired insufficient_scope
    unavailable not_found method_not_allowed patient_mismatch bad_answer);

our @Answers = qw(passed other_patient unbound unexpected_type duplicate
    not_json too_large encoded backend_error outcome);

our @Bounds = qw(0.0001 0.00025 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05
    0.1 0.25 0.5 1 +Inf);

# The exact scrape for the given counts, as a pattern: durations and the
# reload time are the only numbers not known in advance.
sub scrape {
    my (%c) = @_;
    my $t = '';

    my $family = sub {
        my ($name, $type) = @_;
        $t .= quotemeta("# HELP $name ") . "[^\\n]+\\n"
              . quotemeta("# TYPE $name $type\n");
    };
    # a value is a number, or a pattern where workers may share the work
    my $line = sub {
        $t .= quotemeta("$_[0] ") . ($_[1] =~ /^\d+$/ ? $_[1] : "(?:$_[1])")
              . '\n';
    };

    $family->('bluebutton_requests_total', 'counter');
    $line->("bluebutton_requests_total{decision=\"$_\"}", $c{$_} || 0)
        for @Decisions;

    $family->('bluebutton_redis_commands_total', 'counter');
    $line->("bluebutton_redis_commands_total{result=\"$_\"}",
            $c{"redis_$_"} || 0) for qw(ok error timeout);

    $family->('bluebutton_redis_connections', 'gauge');
    $line->('bluebutton_redis_connections{state="connected"}',
            $c{conn_connected} || 0);

    # a connection that is away is down, or connecting in the background
    # when the scrape comes (an attempt every 200 ms at most)
    my $away = sub {
        my ($connecting, $down) = @_;
        return quotemeta('bluebutton_redis_connections{state="connecting"} '
                         . "$connecting\n"
                         . 'bluebutton_redis_connections{state="down"} '
                         . "$down\n");
    };
    $t .= $c{conn_away} ? '(?:' . $away->(0, 1) . '|' . $away->(1, 0) . ')'
                        : $away->($c{conn_connecting} || 0, $c{conn_down} || 0);

    $family->('bluebutton_redis_reconnects_total', 'counter');
    $line->('bluebutton_redis_reconnects_total', $c{reconnects} || 0);

    for my $h (['bluebutton_lookup_duration_seconds', $c{lookups} || 0],
               ['bluebutton_jwt_verify_duration_seconds', $c{verified} || 0])
    {
        my ($name, $n) = @$h;
        $family->($name, 'histogram');
        for my $le (@Bounds) {
            $t .= quotemeta("${name}_bucket{le=\"$le\"} ")
                  . ($le eq '+Inf' || $n == 0 ? $n : '\d+') . '\n';
        }
        $t .= quotemeta("${name}_sum ")
              . ($n ? '\d+\.\d{6}' : quotemeta('0.000000')) . '\n';
        $line->("${name}_count", $n);
    }

    $family->('bluebutton_jwt_keys_loaded', 'gauge');
    $line->('bluebutton_jwt_keys_loaded', $c{keys} || 0);

    $family->('bluebutton_config_reload_timestamp_seconds', 'gauge');
    $t .= 'bluebutton_config_reload_timestamp_seconds \d{10}\n';

    # no bluebutton_cache here: its families stay at 0 (t/100 counts them)
    $family->('bluebutton_cache_requests_total', 'counter');
    $line->("bluebutton_cache_requests_total{status=\"$_\"}", 0)
        for qw(hit miss expired stale bypass);
    $family->('bluebutton_cache_entries', 'gauge');
    $line->('bluebutton_cache_entries', 0);
    for (qw(invalidations evictions feed_losses)) {
        $family->("bluebutton_cache_${_}_total", 'counter');
        $line->("bluebutton_cache_${_}_total", 0);
    }

    $family->('bluebutton_answers_total', 'counter');
    $line->("bluebutton_answers_total{verdict=\"$_\"}", $c{"answer_$_"} || 0)
        for @Answers;

    $family->('bluebutton_redis_replies_refused_total', 'counter');
    $line->("bluebutton_redis_replies_refused_total{reason=\"$_\"}", 0)
        for qw(elements depth length size protocol);

    $family->('bluebutton_build_info', 'gauge');
    $line->("bluebutton_build_info{version=\"$Version\"}", 1);

    return qr/\A$t\z/;
}

sub http_get {
    my ($path) = @_;
    my $r = BB::http_get($path);
    die "GET $path: $r->{status}\n" unless $r->{status} == 200;
    return $r->{body};
}

# Both forms carry the same numbers, and promtool finds nothing to say.
sub compare_forms {
    my $text = http_get('/metrics');
    my $json = JSON::PP->new->decode(http_get('/metrics?format=json'));
    my %v;

    for (split /\n/, $text) {
        next if /^#/;
        my ($k, $n) = /^(\S+) (\S+)$/ or die "bad line: $_\n";
        $v{$k} = $n;
    }

    my %j;
    $j{"bluebutton_requests_total{decision=\"$_\"}"}
        = $json->{requests}{$_} for keys %{ $json->{requests} };
    $j{"bluebutton_redis_commands_total{result=\"$_\"}"}
        = $json->{redis}{commands}{$_} for keys %{ $json->{redis}{commands} };
    $j{"bluebutton_redis_connections{state=\"$_\"}"}
        = $json->{redis}{connections}{$_}
        for keys %{ $json->{redis}{connections} };
    $j{bluebutton_redis_reconnects_total} = $json->{redis}{reconnects};
    $j{"bluebutton_redis_replies_refused_total{reason=\"$_\"}"}
        = $json->{redis}{replies_refused}{$_}
        for keys %{ $json->{redis}{replies_refused} };

    for my $h (qw(lookup_duration_seconds jwt_verify_duration_seconds)) {
        my $o = $json->{$h};
        $j{"bluebutton_${h}_bucket{le=\"$_\"}"} = $o->{buckets}{$_}
            for keys %{ $o->{buckets} };
        $j{"bluebutton_${h}_sum"} = sprintf '%.6f', $o->{sum};
        $j{"bluebutton_${h}_count"} = $o->{count};
    }

    $j{$_} = $json->{$_ =~ s/^bluebutton_//r}
        for qw(bluebutton_jwt_keys_loaded
               bluebutton_config_reload_timestamp_seconds);

    my $cache = $json->{cache};
    $j{"bluebutton_cache_requests_total{status=\"$_\"}"}
        = $cache->{requests}{$_} for keys %{ $cache->{requests} };
    $j{bluebutton_cache_entries} = $cache->{entries};
    $j{"bluebutton_cache_${_}_total"} = $cache->{$_}
        for qw(invalidations evictions feed_losses);
    $j{"bluebutton_answers_total{verdict=\"$_\"}"} = $json->{answers}{$_}
        for keys %{ $json->{answers} };
    $j{"bluebutton_build_info{version=\"$json->{version}\"}"} = 1;

    for my $k (sort keys %v) {
        die "JSON lacks $k\n" unless defined $j{$k};
        die "$k: text $v{$k}, JSON $j{$k}\n" unless $v{$k} eq $j{$k};
    }
    die "JSON has more than the text\n" unless keys %v == keys %j;

    my $dir = $ENV{TEST_NGINX_KEYS_DIR};
    BB::write_file("$dir/scrape.txt", $text);
    my $out = `promtool check metrics < $dir/scrape.txt 2>&1`;
    die "promtool: $out\n" if $? != 0 || $out ne '';
}

add_block_preprocessor(sub {
    my $block = shift;

    BB::defaults($block);

    if (!defined $block->config) {
        $block->set_value('config', <<'END' . $BB::Control);
    location /p {
        bluebutton on;
        bluebutton_scope patient/Patient.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location /eob {
        bluebutton on;
        bluebutton_scope patient/ExplanationOfBenefit.read;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location /jwt {
        bluebutton on;
        bluebutton_jwt_keys $TEST_NGINX_KEYS_DIR/jwks-metrics.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }

    location = /metrics {
        bluebutton_status;
    }
END
    }

    # a fresh script cache: the first lookup of a block is answered
    # NOSCRIPT and sent again (two commands, both answered), so that every
    # block counts the same commands
    $block->set_value('init', <<'END' . ($block->init || ''))
BB::flush();
BB::redis('SCRIPT', 'FLUSH');
BB::consent('tok', scope => 'patient/Patient.read');
BB::start_control(undef, forms => \&main::compare_forms);
END
        unless $block->must_die;
});

run_tests();

__DATA__

=== TEST 1: every family is there from the start, with 0
--- request
GET /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body eval
main::scrape(keys => 2)



=== TEST 2: known requests across two workers give exact counts
--- request eval
["GET /p", "GET /p", "GET /p?again", "GET /eob", "GET /p", "GET /p", "GET /metrics"]
--- more_headers eval
["Authorization: Bearer tok", "Authorization: Bearer tok",
 "Authorization: Bearer tok", "Authorization: Bearer tok",
 "Authorization: Bearer unknown", "", ""]
--- error_code eval
[200, 200, 200, 403, 401, 401, 200]
--- response_body eval
[qr/^backend/, qr/^backend/, qr/^backend/, qr/insufficient_scope/,
 qr/invalid_token/, qr/invalid_request/,
 main::scrape(allow => 3, insufficient_scope => 1, invalid_token => 1,
              invalid_request => 1, redis_ok => 6,
              lookups => 5, conn_connected => '[12]', keys => 2)]
--- no_error_log
[alert]
[crit]



=== TEST 3: the JSON form carries the same numbers, and promtool accepts the text
--- timeout: 10
--- request eval
["GET /p", "GET /eob", "GET /p", "GET /control/do/forms",
 "GET /metrics?format=json"]
--- more_headers
Authorization: Bearer tok
--- error_code eval
[200, 403, 200, 200, 200]
--- response_headers eval
["", "", "", "", "Content-Type: application/json"]
--- response_body eval
[qr/^backend/, qr/insufficient_scope/, qr/^backend/, "ok\n",
 qr/^\{"version":"\Q$::Version\E","requests":\{"allow":2,"invalid_request":0,"invalid_token":0,"token_expired":0,"token_superseded":0,"consent_revoked":0,"consent_expired":0,"insufficient_scope":1,"unavailable":0,"not_found":0,"method_not_allowed":0,"patient_mismatch":0,"bad_answer":0\},"redis":\{"commands":\{"ok":4,"error":0,"timeout":0\},"connections":\{"connected":[12],"connecting":0,"down":0\},"reconnects":0,"replies_refused":\{"elements":0,"depth":0,"length":0,"size":0,"protocol":0\}\},"lookup_duration_seconds":\{"buckets":\{"0.0001":\d+,.*"\+Inf":3\},"sum":\d+\.\d{6},"count":3\},"jwt_verify_duration_seconds":\{"buckets":\{"0.0001":0,.*"\+Inf":0\},"sum":0.000000,"count":0\},"jwt_keys_loaded":2,"config_reload_timestamp_seconds":\d{10},"cache":\{"requests":\{"hit":0,"miss":0,"expired":0,"stale":0,"bypass":0\},"entries":0,"invalidations":0,"evictions":0,"feed_losses":0\},"answers":\{"passed":0,"other_patient":0,"unbound":0,"unexpected_type":0,"duplicate":0,"not_json":0,"too_large":0,"encoded":0,"backend_error":0,"outcome":0\}\}\n\z/]



=== TEST 4: JWTs: verification timed, keys counted
--- request eval
["GET /jwt", "GET /jwt", "GET /metrics"]
--- more_headers eval
["Authorization: Bearer " . BB::jwt(alg => 'RS256', key => 'rsa1', kid => 'rsa1'),
 "Authorization: Bearer " . BB::jwt(alg => 'ES256', key => 'ec256', kid => 'ec256'),
 ""]
--- init
BB::grant('app-1', '-20140000008325');
--- error_code eval
[200, 200, 200]
--- response_body eval
[qr/^backend/, qr/^backend/,
 main::scrape(allow => 2, verified => 2, lookups => 2, redis_ok => 2,
              conn_connected => '[12]', keys => 2)]



=== TEST 5: Redis down: unavailable counted, the connection down
--- http_config
    bluebutton_redis 127.0.0.1:1988;
--- request eval
["GET /p", "GET /metrics"]
--- more_headers eval
["Authorization: Bearer tok", ""]
--- error_code eval
[503, 200]
--- response_body eval
[qr/temporarily_unavailable/,
 main::scrape(unavailable => 1, redis_error => 1, lookups => 1,
              conn_away => 1, keys => 2)]



=== TEST 5b: a Redis that never answers: a timeout, then the worker connects again by itself
--- init
BB::start_fake(1989, 'silent');
--- http_config
    bluebutton_redis 127.0.0.1:1989;
    bluebutton_redis_timeout 200ms;
--- request eval
["GET /p", "GET /control/pause/300", "GET /metrics"]
--- more_headers eval
["Authorization: Bearer tok", "", ""]
--- error_code eval
[503, 200, 200]
--- response_body eval
[qr/temporarily_unavailable/, "ok\n",
 main::scrape(unavailable => 1, redis_timeout => 1, lookups => 1,
              conn_connected => 1, reconnects => 1, keys => 2)]



=== TEST 5c: Redis killed and back: the lost connection is opened again
--- init
BB::start_redis(1990);
{ local $BB::Port = 1990; BB::consent('tok', scope => 'patient/Patient.read'); }
BB::start_control(sub { BB::consent('tok', scope => 'patient/Patient.read') });
--- http_config
    bluebutton_redis 127.0.0.1:1990;
--- pipelined_requests eval
["GET /p", "GET /control/redis/stop/1990", "GET /control/redis/start/1990",
 "GET /control/pause/3500", "GET /p", "GET /p", "GET /metrics"]
--- more_headers
Authorization: Bearer tok
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- timeout: 6
--- response_body eval
[qr/^backend/, "ok\n", "ok\n", "ok\n", qr/^backend/, qr/^backend/,
 main::scrape(allow => 3, redis_ok => 4, lookups => 3,
              conn_connected => 1, reconnects => 1, keys => 2)]



=== TEST 6: counters survive a reload, and the reload is stamped
--- skip_eval: 10: $ENV{TEST_NGINX_USE_VALGRIND}
--- request eval
["GET /p", "GET /eob", "GET /control/nginx/hup", "GET /p", "GET /metrics"]
--- more_headers eval
["Authorization: Bearer tok", "Authorization: Bearer tok", "", "Authorization: Bearer tok", ""]
--- error_code eval
[200, 403, 200, 200, 200]
--- response_body_like eval
["", "", "", "",
 '\nbluebutton_requests_total\{decision="allow"\} 2\n(?:.*\n)*bluebutton_requests_total\{decision="insufficient_scope"\} 1\n']



=== TEST 7: only GET and HEAD
--- request
POST /metrics
--- error_code: 405



=== TEST 8: an unknown format is a bad request
--- request
GET /metrics?format=xml
--- error_code: 400



=== TEST 9: bluebutton_status takes no arguments
--- config
    location /metrics {
        bluebutton_status on;
    }
--- must_die
--- error_log
invalid number of arguments in "bluebutton_status" directive



=== TEST 10: bluebutton_status belongs in a location
--- http_config
    bluebutton_status;
--- config
--- must_die
--- error_log
"bluebutton_status" directive is not allowed here
