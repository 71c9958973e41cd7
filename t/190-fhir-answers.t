# The backend is not trusted: every answer is checked against the token's
# patient before any of it is sent, the backend's request is made as the
# Blue Button server makes it, and the backend's errors become the
# gateway's own.  The backend here answers like BFD: a read by id returns
# that resource, whoever it belongs to.

use Test::Nginx::Socket 'no_plan';
use BB;

repeat_each(1);
no_shuffle();

our $Alice = '-20140000008325';
our $Bob = '-20140000010000';

# Answers shaped like the backend's: an ExplanationOfBenefit of about
# 14 KB, Coverage, Patient, and Bundles of them; written once per run.
our $Dir = "$ENV{TEST_NGINX_KEYS_DIR}/answers";

sub eob {
    my ($id, $patient, %o) = @_;
    my $items = join ',', map {
        qq({"sequence":$_,"careTeamSequence":[1],"diagnosisSequence":[$_],)
        . qq("productOrService":{"coding":[{"system":"https://bluebutton.cms.gov/resources/codesystem/hcpcs","code":"9921$_","display":"Office or other outpatient visit for the evaluation and management of an established patient"}]},)
        . qq("servicedPeriod":{"start":"2025-06-0$_","end":"2025-06-0$_"},)
        . qq("locationCodeableConcept":{"coding":[{"system":"https://bluebutton.cms.gov/resources/variables/line_place_of_srvc_cd","code":"11","display":"Office. Location, other than a hospital, where the health professional routinely provides health examinations."}]},)
        . qq("quantity":{"value":1},"adjudication":[{"category":{"coding":[{"system":"https://bluebutton.cms.gov/resources/codesystem/adjudication","code":"https://bluebutton.cms.gov/resources/variables/line_nch_pmt_amt","display":"Line NCH Medicare Payment Amount"}]},"amount":{"value":82.34,"currency":"USD"}},{"category":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/adjudication","code":"submitted","display":"Submitted Amount"}]},"amount":{"value":120.0,"currency":"USD"}}]})
    } 1 .. 9;
    my $patient_member = exists $o{patient} ? $o{patient}
                       : qq("patient":{"reference":"Patient/$patient"},);
    return qq({"resourceType":"ExplanationOfBenefit","id":"$id",)
        . qq("meta":{"lastUpdated":"2025-07-01T12:00:00.000+00:00","profile":["http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-ExplanationOfBenefit-Professional-NonClinician"]},)
        . qq("contained":[{"resourceType":"Organization","id":"provider-org","identifier":[{"system":"http://hl7.org/fhir/sid/us-npi","value":"9999999999"}],"active":true,"name":"Example Clinic"}],)
        . qq("identifier":[{"type":{"coding":[{"system":"http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType","code":"uc"}]},"system":"https://bluebutton.cms.gov/resources/variables/clm_id","value":"$id"}],)
        . qq("status":"active","type":{"coding":[{"system":"https://bluebutton.cms.gov/resources/codesystem/eob-type","code":"CARRIER"}]},"use":"claim",)
        . $patient_member
        . qq("billablePeriod":{"start":"2025-06-01","end":"2025-06-09"},"created":"2025-07-01T12:00:00+00:00",)
        . qq("insurer":{"identifier":{"value":"CMS"}},"provider":{"reference":"#provider-org"},"outcome":"complete",)
        . qq("diagnosis":[) . join(',', map { qq({"sequence":$_,"diagnosisCodeableConcept":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"R0${_}1","display":"Example diagnosis $_"}]}}) } 1 .. 9) . qq(],)
        . qq("item":[$items],)
        . qq("total":[{"category":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/adjudication","code":"submitted"}]},"amount":{"value":1080.0,"currency":"USD"}}],)
        . qq("payment":{"amount":{"value":741.06,"currency":"USD"}}});
}

sub coverage {
    my ($id, $patient) = @_;
    return qq({"resourceType":"Coverage","id":"$id","status":"active",)
        . qq("type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"SUBSIDIZ"}]},)
        . qq("subscriberId":"1S00E00AA00","beneficiary":{"reference":"Patient/$patient"},)
        . qq("relationship":{"coding":[{"code":"self"}]},"period":{"start":"2014-02-06"},)
        . qq("payor":[{"identifier":{"value":"CMS"}}],"class":[{"type":{"coding":[{"code":"group"}]},"value":"Medicare","name":"Part A"}]});
}

sub patient {
    my ($id) = @_;
    return qq({"resourceType":"Patient","id":"$id","name":[{"use":"usual","family":"Example","given":["Alice"]}],"gender":"female","birthDate":"1950-01-01"});
}

sub bundle {
    return qq({"resourceType":"Bundle","id":"b1","type":"searchset","total":) . scalar(@_)
        . qq(,"link":[{"relation":"self","url":"https://bb/v2/fhir/ExplanationOfBenefit?patient=x"}],"entry":[)
        . join(',', map { qq({"fullUrl":"https://bb/v2/fhir/x","resource":$_}) } @_) . ']}';
}

unless (-d $Dir) {
    mkdir $ENV{TEST_NGINX_KEYS_DIR};
    mkdir $Dir or die "$Dir: $!";
    my %f = (
        "ExplanationOfBenefit-carrier-1" => eob('carrier-1', $Alice),
        "ExplanationOfBenefit-carrier-2" => eob('carrier-2', $Bob),
        "Coverage-part-a-1" => coverage('part-a-1', $Alice),
        "Coverage-part-a-2" => coverage('part-a-2', $Bob),
        "Patient-$Alice" => patient($Alice),
        "Patient-$Bob" => patient($Bob),
        "ExplanationOfBenefit-search-$Alice" => bundle(map { eob("carrier-1$_", $Alice) } 1 .. 50),
        "ExplanationOfBenefit-search-$Bob" => bundle(eob('carrier-2', $Bob)),
        "Coverage-search-$Alice" => bundle(coverage('part-a-1', $Alice)),
        "Patient-search-$Alice" => bundle(patient($Alice)),
        "userinfo-$Alice" => qq({"sub":"$Alice","patient":"$Alice","name":"Alice Example"}),
        "userinfo-$Bob" => qq({"sub":"$Bob","patient":"$Bob","name":"Bob Example"}),
        # answers a faulty or hostile backend could send
        "mixed-bundle" => bundle(eob('carrier-1', $Alice), eob('carrier-2', $Bob)),
        "no-reference" => eob('carrier-3', $Alice, patient => ''),
        "reference-absolute" => eob('carrier-3', $Alice, patient => qq("patient":{"reference":"https://bb/fhir/Patient/$Alice"},)),
        "reference-not-string" => eob('carrier-3', $Alice, patient => qq("patient":{"reference":["Patient/$Alice"]},)),
        "duplicate-patient" => eob('carrier-3', $Alice, patient => qq("patient":{"reference":"Patient/$Alice"},"patient":{"reference":"Patient/$Bob"},)),
        "duplicate-reference" => eob('carrier-3', $Alice, patient => qq("patient":{"reference":"Patient/$Alice","reference":"Patient/$Bob"},)),
        "escaped-reference" => eob('carrier-3', $Alice, patient => qq("p\\u0061tient":{"reference":"Patient\\/$Alice"},)),
        "escaped-other" => eob('carrier-3', $Alice, patient => qq("patient":{"refer\\u0065nce":"Patient/$Bob"},)),
        "bundle-no-reference" => bundle(eob('carrier-1', $Alice), eob('carrier-3', $Alice, patient => '')),
        "bundle-observation" => bundle(eob('carrier-1', $Alice), qq({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/$Alice"}})),
        "bundle-nested" => bundle(bundle(eob('carrier-2', $Bob))),
        "bundle-empty" => bundle(),
        "bundle-outcome" => bundle(eob('carrier-1', $Alice), qq({"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}]})),
        "not-json" => "<html><body>Internal Server Error</body></html>",
        "truncated" => substr(eob('carrier-1', $Alice), 0, 9000),
        "trailing" => eob('carrier-1', $Alice) . ' {}',
        "array" => '[' . eob('carrier-1', $Alice) . ']',
        "patient-as-eob" => patient($Alice),
        "outcome" => qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"claim not found"}]}),
        "stack-trace" => qq(java.lang.NullPointerException\n\tat gov.cms.bfd.server.war.r4.providers.ExplanationOfBenefitResourceProvider.read(ExplanationOfBenefitResourceProvider.java:231)\n),
        "observation-alice" => qq({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/$Alice"}}),
        "observation-bob" => qq({"resourceType":"Observation","id":"o2","subject":{"reference":"Patient/$Bob"}}),
    );
    BB::write_file("$Dir/$_.json", $f{$_}) for keys %f;
}

our $Size = -s "$Dir/ExplanationOfBenefit-carrier-1.json";
our $Eob1 = do { local (@ARGV, $/) = "$Dir/ExplanationOfBenefit-carrier-1.json"; <> };

# The backend: by id for reads, the patient named by the gateway for
# searches, or the answer a block names in X-Answer; X-Backend-Saw shows
# what reached it.  The second server sends the same without a length
# (sub_filter drops it), chunked.
our $BackendTemplate = <<'END';
    map $http_bluebutton_beneficiaryid $who {
        "~^patientId:(?<id>[A-Za-z0-9.-]+)$"  $id;
        default                                nobody;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        include backend.conf;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_CONTROL_PORT;
        sub_filter_types *;
        sub_filter_once off;
        sub_filter 'zzz-never' 'zzz-never';
        include backend.conf;
    }
END

our $BackendConf = <<"END";
    root $Dir;
    default_type application/fhir+json;
    add_header X-Backend-Saw "inc=[\$http_includeaddressfields] ids=[\$http_includeidentifiers] tax=[\$http_includetaxnumbers] ae=[\$http_accept_encoding] range=[\$http_range] inm=[\$http_if_none_match] args=[\$args] method=[\$request_method]" always;
    add_header Cache-Control "public, max-age=3600";
    add_header X-Backend-Access "[\$http_bluebutton_applicationdataaccesstype]" always;
    location / {
        if (\$http_x_status = 500) {
            return 500 "java.lang.NullPointerException at gov.cms.bfd.server\\n";
        }
        if (\$http_x_status = 302) {
            return 302 http://elsewhere/;
        }
        if (\$http_x_status = 304) {
            return 304;
        }
        if (\$http_x_status = 400) {
            return 400 '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"bad request at gov.cms.bfd"}]}';
        }
        if (\$http_x_status = 203) {
            return 203 '{"resourceType":"ExplanationOfBenefit","id":"c","patient":{"reference":"Patient/$Alice"}}';
        }
        if (\$http_x_status = 206) {
            return 206 '{"resourceType":"ExplanationOfBenefit"';
        }
        if (\$http_x_answer) {
            rewrite ^ /\$http_x_answer.json break;
        }
        rewrite ^/v./connect/userinfo\$ /userinfo-\$who.json break;
        rewrite ^/v./fhir/(\\w+)/([^/]+)/?\$ /\$1-\$2.json break;
        rewrite ^/v./fhir/(?<type>\\w+)/?\$ /\$type-search-\$who.json break;
    }
    location ~ /carrier-accel\$ {
        add_header X-Accel-Redirect /v2/fhir/ExplanationOfBenefit/carrier-1;
        return 200 "not this";
    }
    location ~ /carrier-accel-bob\$ {
        add_header X-Accel-Redirect /v2/fhir/ExplanationOfBenefit/carrier-2;
        return 200 "not this";
    }
    location /encoded/ {
        add_header Content-Encoding gzip;
        try_files /ExplanationOfBenefit-carrier-1.json =404;
    }
END

our $Backend = $BackendTemplate =~ s/^\s*include backend.conf;\n/$BackendConf/gmr;

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config',
                      'bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;'
                      . "\n" . ($block->http_config || '') . $Backend)
        unless defined $block->must_die;

    $block->set_value('config', <<'END') unless defined $block->config;
    location / {
        bluebutton on;
        bluebutton_fhir on;
        add_header X-Verdict $bluebutton_answer always;
        add_header X-Cause $bluebutton_refusal_cause always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
END

    $block->set_value('init', "BB::flush(); BB::consent('tok', scope => 'patient/*.read profile');")
        unless defined $block->init;

    $block->set_value('more_headers', 'Authorization: Bearer tok')
        unless defined $block->more_headers;
});

no_root_location();
run_tests();

__DATA__

=== TEST 1: one's own claim by id passes whole, marked not to be stored
--- request
GET /v2/fhir/ExplanationOfBenefit/carrier-1
--- error_code: 200
--- response_headers eval
["Content-Length: $::Size", "Cache-Control: no-store", "Pragma: no-cache",
 "Content-Type: application/fhir+json"]
--- response_body eval
$::Eob1
--- no_error_log
answer refused
[alert]



=== TEST 2: another beneficiary's claim by id: 404, as the Blue Button API, and nothing of it sent
--- request
GET /v2/fhir/ExplanationOfBenefit/carrier-2
--- error_code: 404
--- response_headers
Content-Type: application/fhir+json
Cache-Control: no-store
!X-Backend-Saw
--- response_body
{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Not found."}]}
--- error_log eval
qr/bluebutton: answer refused \(other_patient\): names another patient "Patient\/-20140000010000", \d+ bytes read, patient "-20140000008325"/



=== TEST 3: Coverage and Patient by id are bound the same way, in every version
--- request eval
["GET /v2/fhir/Coverage/part-a-1", "GET /v2/fhir/Coverage/part-a-2",
 "GET /v1/fhir/Coverage/part-a-2", "GET /v3/fhir/Coverage/part-a-2",
 "GET /v3/fhir/ExplanationOfBenefit/carrier-2",
 "GET /v2/fhir/Patient/$::Alice"]
--- error_code eval
[200, 404, 404, 404, 404, 200]



=== TEST 4: a search Bundle with one entry of another's: 403 with an OperationOutcome
--- request
GET /v2/fhir/ExplanationOfBenefit
--- more_headers
Authorization: Bearer tok
X-Answer: mixed-bundle
--- error_code: 403
--- response_body
{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"The backend's answer was withheld: it is not the beneficiary's alone"}]}
--- error_log
answer refused (other_patient): names another patient "Patient/-20140000010000"



=== TEST 5: the beneficiary's own 50-entry Bundle passes whole
--- request
GET /v2/fhir/ExplanationOfBenefit?_count=50
--- error_code: 200
--- response_body_like eval
qr/\A\{"resourceType":"Bundle".*"id":"carrier-150".*\]\}\z/s
--- no_error_log
answer refused



=== TEST 6: answers that name no patient, or not in the form compared, are refused
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/x", "GET /v2/fhir/ExplanationOfBenefit/x",
 "GET /v2/fhir/ExplanationOfBenefit/x", "GET /v2/fhir/ExplanationOfBenefit"]
--- more_headers eval
["Authorization: Bearer tok\nX-Answer: no-reference",
 "Authorization: Bearer tok\nX-Answer: reference-absolute",
 "Authorization: Bearer tok\nX-Answer: reference-not-string",
 "Authorization: Bearer tok\nX-Answer: bundle-no-reference"]
--- error_code eval
[404, 404, 404, 403]
--- response_headers eval
["X-Verdict: unbound", "X-Verdict: other_patient", "X-Verdict: unbound",
 "X-Verdict: unbound"]




=== TEST 7: a member the check reads, given twice, is refused whichever comes first
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/x", "GET /v2/fhir/ExplanationOfBenefit/x"]
--- more_headers eval
["Authorization: Bearer tok\nX-Answer: duplicate-patient",
 "Authorization: Bearer tok\nX-Answer: duplicate-reference"]
--- error_code eval
[404, 404]
--- response_headers eval
["X-Verdict: duplicate", "X-Verdict: duplicate"]




=== TEST 8: escaped member names are read as what they decode to
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/x", "GET /v2/fhir/ExplanationOfBenefit/x"]
--- more_headers eval
["Authorization: Bearer tok\nX-Answer: escaped-reference",
 "Authorization: Bearer tok\nX-Answer: escaped-other"]
--- error_code eval
[200, 404]



=== TEST 9: what is not JSON, cut short, followed by more, or not an object is never sent
--- request eval
[("GET /v2/fhir/ExplanationOfBenefit/x") x 4]
--- more_headers eval
["Authorization: Bearer tok\nX-Answer: not-json",
 "Authorization: Bearer tok\nX-Answer: truncated",
 "Authorization: Bearer tok\nX-Answer: trailing",
 "Authorization: Bearer tok\nX-Answer: array"]
--- error_code eval
[404, 404, 404, 404]
--- response_body eval
[(qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Not found."}]}\n)) x 4]
--- response_headers eval
[("X-Verdict: not_json\nX-Cause: bad_answer") x 4]




=== TEST 10: types the route does not expect: another type, an entry of an unknown type, a Bundle in a Bundle, a read answered by a search
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/x", "GET /v2/fhir/ExplanationOfBenefit",
 "GET /v2/fhir/ExplanationOfBenefit", "GET /v2/fhir/ExplanationOfBenefit/x",
 "GET /v2/fhir/ExplanationOfBenefit"]
--- more_headers eval
["Authorization: Bearer tok\nX-Answer: patient-as-eob",
 "Authorization: Bearer tok\nX-Answer: bundle-observation",
 "Authorization: Bearer tok\nX-Answer: bundle-nested",
 "Authorization: Bearer tok\nX-Answer: mixed-bundle",
 "Authorization: Bearer tok\nX-Answer: ExplanationOfBenefit-carrier-1"]
--- error_code eval
[404, 403, 403, 404, 403]
--- response_headers eval
[("X-Verdict: unexpected_type") x 5]




=== TEST 11: an empty Bundle, a search's OperationOutcome entry and an OperationOutcome pass
--- request eval
["GET /v2/fhir/ExplanationOfBenefit", "GET /v2/fhir/ExplanationOfBenefit",
 "GET /v2/fhir/ExplanationOfBenefit/x"]
--- more_headers eval
["Authorization: Bearer tok\nX-Answer: bundle-empty",
 "Authorization: Bearer tok\nX-Answer: bundle-outcome",
 "Authorization: Bearer tok\nX-Answer: outcome"]
--- error_code eval
[200, 200, 200]



=== TEST 12: userinfo names the token's patient
--- request eval
["GET /v2/connect/userinfo", "GET /v2/connect/userinfo"]
--- more_headers eval
["Authorization: Bearer tok", "Authorization: Bearer tok\nX-Answer: userinfo-$::Bob"]
--- error_code eval
[200, 403]
--- response_body eval
[qq({"sub":"$::Alice","patient":"$::Alice","name":"Alice Example"}),
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"The backend's answer was withheld: it is not the beneficiary's alone"}]}\n)]



=== TEST 13: the backend's errors as the Blue Button server maps them, never its body; any status but 200 is one, a bound body or not
--- request eval
[("GET /v2/fhir/ExplanationOfBenefit/carrier-1") x 6]
--- more_headers eval
["Authorization: Bearer tok\nX-Status: 500",
 "Authorization: Bearer tok\nX-Status: 302",
 "Authorization: Bearer tok\nX-Status: 400",
 "Authorization: Bearer tok\nX-Answer: none-such",
 "Authorization: Bearer tok\nX-Status: 304",
 "Authorization: Bearer tok\nX-Status: 203"]
--- error_code eval
[502, 502, 400, 404, 502, 502]
--- response_body eval
[qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"A failure occurred contacting the upstream server"}]}\n),
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"A failure occurred contacting the upstream server"}]}\n),
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"An error occurred contacting the upstream server"}]}\n),
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Not found."}]}\n),
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"A failure occurred contacting the upstream server"}]}\n),
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"A failure occurred contacting the upstream server"}]}\n)]
--- response_headers eval
[("!Location\n!X-Backend-Saw\nCache-Control: no-store\nX-Verdict: backend_error") x 6]



=== TEST 14: v3 passes the backend's OperationOutcome with its status, and maps anything else
--- request eval
["GET /v3/fhir/ExplanationOfBenefit/carrier-1", "GET /v3/fhir/ExplanationOfBenefit/carrier-1"]
--- more_headers eval
["Authorization: Bearer tok\nX-Status: 400", "Authorization: Bearer tok\nX-Status: 500"]
--- error_code eval
[400, 502]
--- response_body eval
['{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"bad request at gov.cms.bfd"}]}',
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","diagnostics":"A failure occurred contacting the upstream server"}]}\n)]



=== TEST 15: headers that steer the backend, in any spelling, never reach it; includeAddressFields is the gateway's
--- http_config
    underscores_in_headers on;
--- request
GET /v2/fhir/ExplanationOfBenefit/carrier-1
--- more_headers
Authorization: Bearer tok
IncludeAddressFields: true
includeidentifiers: mbi
Include_Tax_Numbers: true
INCLUDETAXNUMBERS: true
--- error_code: 200
--- response_headers
X-Backend-Saw: inc=[False] ids=[] tax=[] ae=[] range=[] inm=[] args=[_format=application%2Ffhir%2Bjson] method=[GET]



=== TEST 16: bluebutton_fhir_include_address_fields on asks for addresses
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_include_address_fields on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/ExplanationOfBenefit/carrier-1
--- more_headers
Authorization: Bearer tok
IncludeAddressFields: false
--- error_code: 200
--- response_headers_like
X-Backend-Saw: inc=\[True\] .*



=== TEST 17: search parameters: what the schema names, checked; the rest dropped; _count 10 unless given; _format always
--- request eval
["GET /v2/fhir/ExplanationOfBenefit?excludeSAMHSA=false&_format=xml&foo=1",
 "GET /v2/fhir/ExplanationOfBenefit?count=5&type=carrier,PDE&_lastUpdated=ge2024-01-01&_lastUpdated=lt2025-01-01&service-date=gt2024-02-01&startIndex=3",
 "GET /v2/fhir/Coverage?beneficiary=Patient/$::Alice&_id=x",
 "GET /v2/fhir/Patient?identifier=x&_has:Observation=1"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["X-Backend-Saw: inc=[False] ids=[] tax=[] ae=[] range=[] inm=[] args=[patient=$::Alice&_count=10&_format=application%2Ffhir%2Bjson] method=[GET]",
 "X-Backend-Saw: inc=[False] ids=[] tax=[] ae=[] range=[] inm=[] args=[_count=5&type=carrier,PDE&_lastUpdated=ge2024-01-01&_lastUpdated=lt2025-01-01&service-date=gt2024-02-01&startIndex=3&patient=$::Alice&_format=application%2Ffhir%2Bjson] method=[GET]",
 "X-Backend-Saw: inc=[False] ids=[] tax=[] ae=[] range=[] inm=[] args=[beneficiary=Patient/$::Alice&_count=10&_format=application%2Ffhir%2Bjson] method=[GET]",
 "X-Backend-Saw: inc=[False] ids=[] tax=[] ae=[] range=[] inm=[] args=[identifier=x&_id=$::Alice&_count=10&_format=application%2Ffhir%2Bjson] method=[GET]"]



=== TEST 18: search parameter values out of the schema: 400 before the backend
--- request eval
["GET /v2/fhir/ExplanationOfBenefit?_count=51",
 "GET /v2/fhir/ExplanationOfBenefit?_count=ten",
 "GET /v2/fhir/ExplanationOfBenefit?count=1&_count=2",
 "GET /v2/fhir/ExplanationOfBenefit?startIndex=-1",
 "GET /v2/fhir/ExplanationOfBenefit?_lastUpdated=2024-01-01",
 "GET /v2/fhir/ExplanationOfBenefit?service-date=eq2024-01-01",
 "GET /v2/fhir/ExplanationOfBenefit?type=carrier,radiology",
 "GET /v2/fhir/ExplanationOfBenefit?_offset=x",
 "GET /v2/fhir/ExplanationOfBenefit?type=https://bluebutton.cms.gov/resources/codesystem/eob-type%7Cpde"]
--- more_headers
Authorization: Bearer tok
Accept: application/fhir+json
--- error_code eval
[400, 400, 400, 400, 400, 400, 400, 400, 200]
--- response_body_like eval
[qr/"code":"invalid","diagnostics":"The _count parameter must be a whole number from 0 to 50"/,
 qr/The _count parameter must be a whole number from 0 to 50/,
 qr/A search parameter that takes one value is given more than once/,
 qr/The startIndex parameter must be a whole number/,
 qr/The _lastUpdated operator is not valid/,
 qr/The service-date operator is not valid/,
 qr/The type parameter value is not valid/,
 qr/The _offset parameter must be a whole number/,
 qr/"resourceType":"Bundle"/]
--- response_headers eval
[("X-Cause: bad_parameter") x 8, "!X-Cause"]




=== TEST 19: a v3 ExplanationOfBenefit search asks for _source=NCH,DDPS unless _source or _tag is given
--- request eval
["GET /v3/fhir/ExplanationOfBenefit", "GET /v3/fhir/ExplanationOfBenefit?_source=DDPS",
 "GET /v3/fhir/ExplanationOfBenefit?_tag=x", "GET /v2/fhir/ExplanationOfBenefit"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers_like eval
["X-Backend-Saw: .* args=\\[patient=$::Alice&_count=10&_format=application%2Ffhir%2Bjson&_source=NCH%2CDDPS\\] .*",
 "X-Backend-Saw: .* args=\\[_source=DDPS&patient=$::Alice&_count=10&_format=application%2Ffhir%2Bjson\\] .*",
 "X-Backend-Saw: .* args=\\[_tag=x&patient=$::Alice&_count=10&_format=application%2Ffhir%2Bjson\\] .*",
 "X-Backend-Saw: .* args=\\[patient=$::Alice&_count=10&_format=application%2Ffhir%2Bjson\\] .*"]



=== TEST 20: a read keeps no parameter but _format, and one trailing slash is the same read (two are not a normal path)
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1/?_count=5&includeTaxNumbers=true",
 "GET /v2/fhir/ExplanationOfBenefit/carrier-2/",
 "GET /v2/fhir/Patient/$::Bob/",
 "GET /v2/fhir/ExplanationOfBenefit/carrier-1//"]
--- error_code eval
[200, 404, 404, 400]
--- response_headers_like eval
["X-Backend-Saw: .* args=\\[_format=application%2Ffhir%2Bjson\\] .*", "", "", ""]



=== TEST 21: Patient?_id naming another beneficiary: 404 without asking the backend, as the Blue Button API
--- request eval
"GET /v2/fhir/Patient?_id=$::Bob"
--- error_code: 404
--- no_error_log
the backend answered



=== TEST 22: an answer larger than bluebutton_fhir_answer_max_size is refused, with or without a length
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answer_max_size 8k;
        add_header X-Verdict $bluebutton_answer always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /chunked/ {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answer_max_size 8k;
        add_header X-Verdict $bluebutton_answer always;
        rewrite ^/chunked(/.*)$ $1 break;
        proxy_http_version 1.1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /chunked/v2/fhir/ExplanationOfBenefit/carrier-1",
 "GET /v2/fhir/Coverage/part-a-1"]
--- error_code eval
[404, 404, 200]
--- response_headers eval
["X-Verdict: too_large", "X-Verdict: too_large", "X-Verdict: passed"]



=== TEST 23: an answer sent without a length is judged as it arrives, and sent with one
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        proxy_http_version 1.1;
        proxy_pass http://127.0.0.1:$TEST_NGINX_CONTROL_PORT;
    }
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /v2/fhir/ExplanationOfBenefit/carrier-2",
 "GET /v2/fhir/ExplanationOfBenefit?_count=50"]
--- error_code eval
[200, 404, 200]
--- response_headers eval
["Content-Length: $::Size", "", ""]



=== TEST 24: gzip towards the client compresses what was judged; the backend is asked for a plain answer
--- config
    gzip on;
    gzip_types application/fhir+json;
    gzip_min_length 1;
    location / {
        bluebutton on;
        bluebutton_fhir on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /v2/fhir/ExplanationOfBenefit/carrier-2"]
--- more_headers
Authorization: Bearer tok
Accept-Encoding: gzip
--- error_code eval
[200, 404]
--- response_headers eval
["Content-Encoding: gzip\nX-Backend-Saw: inc=[False] ids=[] tax=[] ae=[] range=[] inm=[] args=[_format=application%2Ffhir%2Bjson] method=[GET]",
 "Content-Encoding: gzip"]



=== TEST 25: a backend that compresses anyway is refused: what cannot be read is not sent
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT/encoded/;
    }
--- request
GET /v2/fhir/ExplanationOfBenefit/carrier-1
--- error_code: 404
--- error_log
answer refused (encoded): the backend sent an encoded answer



=== TEST 26: proxy_buffering off: the answer is held by the check all the same
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        proxy_buffering off;
        proxy_buffer_size 1k;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /v2/fhir/ExplanationOfBenefit/carrier-2",
 "GET /v2/fhir/ExplanationOfBenefit?_count=50", "GET /v2/fhir/ExplanationOfBenefit"]
--- more_headers eval
["Authorization: Bearer tok", "Authorization: Bearer tok",
 "Authorization: Bearer tok", "Authorization: Bearer tok\nX-Answer: mixed-bundle"]
--- error_code eval
[200, 404, 200, 403]
--- response_body_like eval
[qr/\A\Q$::Eob1\E\z/, qr/"code":"not-found"/, qr/"id":"carrier-150"/, qr/"code":"forbidden"/]



=== TEST 27: HEAD gets the header GET would, and no body; the backend is asked GET, so that there is an answer to judge
--- request eval
["HEAD /v2/fhir/ExplanationOfBenefit/carrier-1", "HEAD /v2/fhir/ExplanationOfBenefit/carrier-2"]
--- error_code eval
[200, 404]
--- response_headers eval
["Content-Length: $::Size\nX-Backend-Saw: inc=[False] ids=[] tax=[] ae=[] range=[] inm=[] args=[_format=application%2Ffhir%2Bjson] method=[GET]",
 "!X-Backend-Saw"]
--- response_body eval
["", ""]



=== TEST 28: ranges and conditionals: the backend gets neither, so the whole answer is judged; a 206 or 304 anyway is 502
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /v2/fhir/ExplanationOfBenefit/carrier-1"]
--- more_headers eval
["Authorization: Bearer tok\nRange: bytes=0-10\nIf-None-Match: \"x\"\nIf-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT",
 "Authorization: Bearer tok\nX-Status: 206"]
--- error_code eval
[200, 502]
--- response_headers eval
["Content-Length: $::Size\nX-Backend-Saw: inc=[False] ids=[] tax=[] ae=[] range=[] inm=[] args=[_format=application%2Ffhir%2Bjson] method=[GET]",
 ""]



=== TEST 29: keepalive connections to the backend carry passed and refused answers alike
--- http_config
    upstream claims {
        server 127.0.0.1:$TEST_NGINX_BACKEND_PORT;
        keepalive 2;
    }
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass http://claims;
    }
--- pipelined_requests eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-2", "GET /v2/fhir/ExplanationOfBenefit/carrier-1",
 "GET /v2/fhir/ExplanationOfBenefit/carrier-2", "GET /v2/fhir/ExplanationOfBenefit?_count=50",
 "GET /v2/fhir/Coverage/part-a-2", "GET /v2/fhir/Coverage/part-a-1"]
--- error_code eval
[404, 200, 404, 200, 404, 200]
--- no_error_log
[error] upstream
prematurely closed



=== TEST 30: the backend's Cache-Control is replaced; bluebutton_fhir_no_store off keeps it
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location /v1/ {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_no_store off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /v1/fhir/ExplanationOfBenefit/carrier-1"]
--- error_code eval
[200, 200]
--- response_headers eval
["Cache-Control: no-store\nPragma: no-cache", "Cache-Control: public, max-age=3600\n!Pragma"]



=== TEST 31: a named location and try_files into a checked location: its answers are checked too
--- config
    location / {
        try_files /nonexistent @fhir;
    }
    location @fhir {
        bluebutton on;
        bluebutton_fhir on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /v2/fhir/ExplanationOfBenefit/carrier-2"]
--- error_code eval
[200, 404]



=== TEST 31b: X-Accel-Redirect from the backend: the claim it names is checked, and a HEAD stays a HEAD
--- request eval
["HEAD /v2/fhir/ExplanationOfBenefit/carrier-accel", "GET /v2/fhir/ExplanationOfBenefit/carrier-accel",
 "GET /v2/fhir/ExplanationOfBenefit/carrier-accel-bob"]
--- error_code eval
[200, 200, 404]
--- response_headers eval
["Content-Length: $::Size", "Content-Length: $::Size", ""]
--- response_body eval
["", $::Eob1,
 qq({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Not found."}]}\n)]



=== TEST 32: error_page after a checked location does not let the backend's body through
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        proxy_intercept_errors on;
        error_page 404 = @missing;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location @missing {
        bluebutton on;
        bluebutton_fhir on;
        rewrite ^ /v2/fhir/ExplanationOfBenefit/carrier-2 break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/ExplanationOfBenefit/carrier-9
--- error_code: 404
--- response_body
{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Not found."}]}



=== TEST 33: bluebutton_fhir_reference: a type of one's own, bound by its path
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_types ExplanationOfBenefit Observation;
        bluebutton_fhir_reference Observation subject.reference;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request eval
["GET /v2/fhir/Observation/o1", "GET /v2/fhir/Observation/o2", "GET /v2/fhir/ExplanationOfBenefit/carrier-2"]
--- more_headers eval
["Authorization: Bearer tok\nX-Answer: observation-alice",
 "Authorization: Bearer tok\nX-Answer: observation-bob", "Authorization: Bearer tok"]
--- error_code eval
[200, 404, 404]



=== TEST 34: $bluebutton_answer and the decision in the audit log
--- http_config
    log_format answers "answer=$bluebutton_answer decision=$bluebutton_decision cause=$bluebutton_refusal_cause";
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        access_log logs/error.log answers;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/ExplanationOfBenefit/carrier-2
--- error_code: 404
--- error_log
answer=other_patient decision=patient_mismatch cause=other_patient



=== TEST 34b: the counters by verdict, and the decisions of answers refused
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
    location = /metrics {
        bluebutton_status;
    }
--- request eval
["GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /v2/fhir/ExplanationOfBenefit/carrier-2",
 "GET /v2/fhir/ExplanationOfBenefit/x", "GET /v2/fhir/ExplanationOfBenefit/carrier-1", "GET /metrics"]
--- more_headers eval
["Authorization: Bearer tok", "Authorization: Bearer tok",
 "Authorization: Bearer tok\nX-Answer: not-json", "Authorization: Bearer tok\nX-Status: 500", ""]
--- error_code eval
[200, 404, 404, 502, 200]
--- response_body_like eval
["", "", "", "",
 qr/bluebutton_requests_total\{decision="allow"\} 2\n.*bluebutton_requests_total\{decision="patient_mismatch"\} 1\nbluebutton_requests_total\{decision="bad_answer"\} 1\n.*bluebutton_answers_total\{verdict="passed"\} 1\nbluebutton_answers_total\{verdict="other_patient"\} 1\nbluebutton_answers_total\{verdict="unbound"\} 0\n.*bluebutton_answers_total\{verdict="not_json"\} 1\n.*bluebutton_answers_total\{verdict="backend_error"\} 1\n/s]


=== TEST 35: bluebutton_fhir_answers off: answers pass unchecked, and nginx says so at start
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_answers off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_BACKEND_PORT;
    }
--- request
GET /v2/fhir/ExplanationOfBenefit/carrier-2
--- error_code: 200
--- error_log
"bluebutton_fhir_answers off": the backend's answers reach clients unchecked



=== TEST 35b: BlueButton-ApplicationDataAccessType from the grant, looked up and from the decision cache; a client's own never passes
--- http_config
    bluebutton_cache zone=answers:1m;
--- init
BB::flush();
BB::token('tok', scope => 'patient/*.read');
BB::grant('app-1', $::Alice, data_access_type => 'RESEARCH_STUDY');
BB::token('tok2', scope => 'patient/*.read', client_id => 'app-2');
BB::grant('app-2', $::Alice, data_access_type => 'SOMETHING_ELSE');
--- request eval
[("GET /v2/fhir/ExplanationOfBenefit/carrier-1") x 3]
--- more_headers eval
["Authorization: Bearer tok\nBlueButton-ApplicationDataAccessType: THIRTEEN_MONTH",
 "Authorization: Bearer tok", "Authorization: Bearer tok2\nBlueButton-ApplicationDataAccessType: ONE_TIME"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Backend-Access: [RESEARCH_STUDY]", "X-Backend-Access: [RESEARCH_STUDY]",
 "X-Backend-Access: []"]



=== TEST 36: a type served without a reference path does not start
--- must_die
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location / {
        bluebutton on;
        bluebutton_fhir on;
        bluebutton_fhir_types ExplanationOfBenefit Claim;
    }
--- error_log
resource type "Claim" has no reference path to check its answers against the patient: add "bluebutton_fhir_reference Claim PATH"



=== TEST 37: a reference path that is not a short list of names does not start
--- must_die
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location / {
        bluebutton_fhir_reference Claim patient..reference;
    }
--- error_log
invalid reference path "patient..reference" for "Claim"



=== TEST 38: value= takes id or reference
--- must_die
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location / {
        bluebutton_fhir_reference Claim patient value=name;
    }
--- error_log
invalid parameter "value=name": "value=id" or "value=reference"



=== TEST 39: bluebutton_fhir_answer_max_size must be positive
--- must_die
--- http_config
    bluebutton_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location / {
        bluebutton_fhir_answer_max_size 0;
    }
--- error_log
"bluebutton_fhir_answer_max_size" must be positive
