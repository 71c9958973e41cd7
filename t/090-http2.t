# HTTP/2: most API clients speak it.  Many streams on one connection,
# each with another beneficiary's token, each get their own identity; a
# stream reset while its lookup waits on a stalled Redis leaves the other
# streams and the connection fine; refusals carry the same status, headers
# and body as over HTTP/1.1.
#
# The HTTP/2 client (Protocol::HTTP2, from Debian) runs in the control
# server, which answers "ok" when every check of its action held, or says
# which did not.  nginx listens for HTTP/2 without TLS (prior knowledge)
# on TEST_NGINX_H2_PORT.

use Test::Nginx::Socket 'no_plan';
use BB;
use Protocol::HTTP2::Client;
use Protocol::HTTP2::Constants qw(:errors);
use IO::Select;
use Time::HiRes qw(sleep time);

repeat_each(1);
no_shuffle();

our $Alice = '-20140000008325';
our $Bob = '-20140000010000';
our $H2 = $ENV{TEST_NGINX_H2_PORT} || 1985;

# one HTTP/2 connection: start(path, token) queues a stream and returns
# its id, run(cond) exchanges frames until cond() holds
sub h2 {
    my $sock = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$H2")
        or die "h2 connect: $!\n";
    my $client = Protocol::HTTP2::Client->new(keepalive => 1);
    my (%done, $next);
    $next = 1;

    my $self = {
        client => $client,
        done => \%done,
        start => sub {
            my ($path, $token) = @_;
            my $id = $next;
            $next += 2;
            $client->request(
                ':scheme' => 'http', ':authority' => "localhost:$H2",
                ':path' => $path, ':method' => 'GET',
                headers => [$token ? (authorization => "Bearer $token")
                                   : ()],
                on_done => sub {
                    my ($h, $body) = @_;
                    my %h;
                    while (my ($k, $v) = splice @$h, 0, 2) {
                        $h{$k} = defined $h{$k} ? "$h{$k}, $v" : $v;
                    }
                    $done{$id} = { status => delete $h{':status'},
                                   headers => \%h, body => $body };
                },
                on_error => sub { $done{$id} = { reset => $_[0] } },
            );
            return $id;
        },
    };

    $self->{run} = sub {
        my ($cond, $timeout) = @_;
        my $deadline = time + ($timeout || 3);
        my $sel = IO::Select->new($sock);
        while (time < $deadline) {
            while (my $frame = $client->next_frame) {
                syswrite $sock, $frame;
            }
            return 1 if $cond->();
            if ($sel->can_read(0.02)) {
                my $n = sysread $sock, my $buf, 65536;
                die "h2: the connection was closed\n" unless $n;
                $client->feed($buf);
            }
        }
        return $cond->();
    };

    $self->{reset} = sub {
        $client->{con}->stream_error($_[0], CANCEL);
    };

    return $self;
}

sub h1 {
    my ($path, $token) = @_;
    return BB::http_get($path, token => $token);
}

# many streams, alternating beneficiaries, all in flight at once
sub streams {
    my $c = h2();
    my %want;
    for my $i (1 .. 24) {
        my ($token, $patient) = $i % 3 == 0 ? ('tok-bob', $Bob)
                              : $i % 3 == 1 ? ('tok-alice', $Alice)
                              : ('tok-unknown', undef);
        my $id = $c->{start}->("/v2/fhir/ExplanationOfBenefit?startIndex=$i", $token);
        $want{$id} = [$i, $patient];
    }

    $c->{run}->(sub { keys %{ $c->{done} } == keys %want })
        or die "only " . keys(%{ $c->{done} }) . " of " . keys(%want)
               . " streams answered\n";

    for my $id (sort { $a <=> $b } keys %want) {
        my ($i, $patient) = @{ $want{$id} };
        my $r = $c->{done}{$id};
        if (defined $patient) {
            die "stream $id: $r->{status} $r->{body}\n"
                unless $r->{status} == 200
                       && $r->{body} =~ /\?startIndex=$i&patient=\Q$patient\E&\S+ patient=\[patientId:\Q$patient\E\]/;
        } else {
            die "stream $id: $r->{status} $r->{body}\n"
                unless $r->{status} == 401
                       && $r->{body} =~ /"error":"invalid_token"/;
        }
    }
}

# the backend's answers checked on every stream: each beneficiary's claim
# by id, asked with both tokens, in one connection, gzip on the way
sub answers {
    my $c = h2();
    my %want;
    for my $i (1 .. 24) {
        my ($token, $own) = $i % 2 ? ('tok-alice', $Alice) : ('tok-bob', $Bob);
        my $claim = $i % 3 ? $own : ($own eq $Alice ? $Bob : $Alice);
        my $id = $c->{start}->("/v3/fhir/ExplanationOfBenefit/$claim", $token);
        $want{$id} = $claim eq $own ? $own : undef;
    }

    $c->{run}->(sub { keys %{ $c->{done} } == keys %want })
        or die "only " . keys(%{ $c->{done} }) . " of " . keys(%want)
               . " streams answered\n";

    for my $id (sort { $a <=> $b } keys %want) {
        my $r = $c->{done}{$id};
        my $patient = $want{$id};
        if (defined $patient) {
            die "stream $id: $r->{status} $r->{body}\n"
                unless $r->{status} == 200
                       && $r->{headers}{'cache-control'} eq 'no-store'
                       && $r->{body} =~ /"reference":"Patient\/\Q$patient\E"/;
        } else {
            die "stream $id: $r->{status} $r->{body}\n"
                unless $r->{status} == 404
                       && $r->{body} =~ /"diagnostics":"Not found."/;
        }
    }
}

# a stream reset while its lookup waits behind a stalled Redis
sub reset_while_waiting {
    my $c = h2();
    my $warm = $c->{start}->('/v2/fhir/Patient', 'tok-alice');
    $c->{run}->(sub { $c->{done}{$warm} }) or die "no answer to warm-up\n";
    die "warm-up: $c->{done}{$warm}{status}\n"
        unless $c->{done}{$warm}{status} == 200;

    my $r = IO::Socket::INET->new(PeerAddr => '127.0.0.1:1990')
        or die "redis: $!\n";
    print $r "DEBUG SLEEP 0.6\r\n";
    sleep 0.05;

    my $gone = $c->{start}->('/v2/fhir/Patient?gone', 'tok-alice');
    $c->{run}->(sub { 0 }, 0.1);
    $c->{reset}->($gone);
    my $bob = $c->{start}->('/v2/fhir/ExplanationOfBenefit', 'tok-bob');

    $c->{run}->(sub { $c->{done}{$bob} }, 3)
        or die "the stream after the reset was not answered\n";
    my $after = $c->{start}->('/v2/fhir/Patient?startIndex=7', 'tok-alice');
    $c->{run}->(sub { $c->{done}{$after} }, 3)
        or die "the connection did not carry another stream\n";

    die "the reset stream was answered: $c->{done}{$gone}{status}\n"
        if $c->{done}{$gone} && $c->{done}{$gone}{status};
    die "after the reset: $c->{done}{$bob}{status} $c->{done}{$bob}{body}\n"
        unless $c->{done}{$bob}{status} == 200
               && $c->{done}{$bob}{body} =~ /patient=\[patientId:\Q$Bob\E\]/;
    die "next stream: $c->{done}{$after}{status}\n"
        unless $c->{done}{$after}{status} == 200
               && $c->{done}{$after}{body} =~ /\?startIndex=7\S* patient=\[patientId:\Q$Alice\E\]/;
}

# a refusal over HTTP/2 is the refusal over HTTP/1.1
sub same_refusals {
    my @cases = @_ ? @_ : (
        ['/v2/fhir/ExplanationOfBenefit', undef],
        ['/v2/fhir/ExplanationOfBenefit', 'tok-unknown'],
        ['/v2/fhir/Coverage', 'tok-alice'],
        ['/v2/fhir/ExplanationOfBenefit?patient=' . $Bob, 'tok-alice'],
        ['/v2/fhir/Patient', 'tok-revoked'],
        ['/v2/fhir/Claim', 'tok-alice'],
    );
    my $c = h2();
    my @ids = map { $c->{start}->(@$_) } @cases;
    $c->{run}->(sub { keys %{ $c->{done} } == @ids })
        or die "not every stream was answered\n";

    for my $k (0 .. $#cases) {
        my $two = $c->{done}{ $ids[$k] };
        my $one = h1(@{ $cases[$k] });
        my $what = "$cases[$k][0] with " . ($cases[$k][1] || 'no token');
        die "$what: HTTP/2 $two->{status}, HTTP/1.1 $one->{status}\n"
            unless $two->{status} == $one->{status} && $one->{status} >= 400;
        for my $h (qw(www-authenticate content-type retry-after)) {
            my ($a, $b) = ($two->{headers}{$h}, $one->{headers}{$h});
            die "$what: $h differs: '" . ($a // '') . "' and '"
                . ($b // '') . "'\n" if ($a // '') ne ($b // '');
        }
        die "$what: bodies differ\n" unless $two->{body} eq $one->{body};
    }
}

sub unavailable {
    same_refusals(['/v2/fhir/ExplanationOfBenefit', 'tok-alice']);
}

add_block_preprocessor(sub {
    my $block = shift;
    my $redis = $block->redis || '127.0.0.1:$TEST_NGINX_REDIS_PORT';

    $block->set_value('http_config', <<"END");
    bluebutton_redis $redis;
    bluebutton_redis_timeout 2s;

    server {
        listen 127.0.0.1:\$TEST_NGINX_H2_PORT http2;

        location / {
            bluebutton on;
            bluebutton_fhir on;
            bluebutton_fhir_answers off;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_BACKEND_PORT;
        }

        # checked: a backend that returns any claim by id
        location /v3/ {
            bluebutton on;
            bluebutton_fhir on;
            proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/claims/;
        }
    }
END
    BB::defaults($block);

    $block->set_value('config', <<'END' . $BB::Control);
    location /v2/ {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location ~ ^/claims/fhir/ExplanationOfBenefit/(?<owner>[0-9-]+)$ {
        default_type application/fhir+json;
        return 200 '{"resourceType":"ExplanationOfBenefit","id":"c","patient":{"reference":"Patient/$owner"},"status":"active"}';
    }
END

    $block->set_value('init', <<'END' . ($block->init || ''));
BB::flush();
BB::consent('tok-alice', patient => $main::Alice,
            scope => 'patient/Patient.read patient/ExplanationOfBenefit.read');
BB::consent('tok-bob', patient => $main::Bob,
            scope => 'patient/ExplanationOfBenefit.read');
BB::token('tok-revoked', patient => '-3');
BB::start_control(undef, streams => \&main::streams,
    reset => \&main::reset_while_waiting,
    refusals => sub { main::same_refusals() },
    answers => \&main::answers,
    unavailable => \&main::unavailable);
END
});

no_root_location();
run_tests();

__DATA__

=== TEST 1: 24 streams on one connection, each with its own beneficiary
--- request
GET /control/do/streams
--- response_body
ok
--- no_error_log
[alert]
[crit]



=== TEST 1b: each stream's answer is checked against its own token's patient
--- request
GET /control/do/answers
--- response_body
ok
--- no_error_log
[alert]
[crit]



=== TEST 2: a stream reset while Redis stalls: the others and the connection go on
--- redis: 127.0.0.1:1990
--- init
BB::start_redis(1990);
{ local $BB::Port = 1990;
  BB::consent('tok-alice', patient => $main::Alice,
              scope => 'patient/Patient.read patient/ExplanationOfBenefit.read');
  BB::consent('tok-bob', patient => $main::Bob,
              scope => 'patient/ExplanationOfBenefit.read'); }
--- request
GET /control/do/reset
--- response_body
ok
--- timeout: 6
--- error_log
client canceled stream 3
--- no_error_log
[alert]
[crit]
did not answer within



=== TEST 3: refusals over HTTP/2 are the refusals over HTTP/1.1
--- request
GET /control/do/refusals
--- response_body
ok



=== TEST 4: Redis down: the same 503 and Retry-After over HTTP/2
--- redis: 127.0.0.1:1988
--- request
GET /control/do/unavailable
--- response_body
ok
