// The SMART demo app: a standalone launch with the SMART on FHIR
// JavaScript client (discovery, PKCE, the token, refreshes), then the
// beneficiary's claims read through the gateway from this origin.  Every
// refusal is shown with its status and error, never swallowed.

const FHIR = window.FHIR;
FHIR.oauth2.settings.refreshTokenWithClientId = true;

const SCOPE = 'launch/patient openid profile offline_access '
  + 'patient/Patient.read patient/ExplanationOfBenefit.read '
  + 'patient/Coverage.read';
const $ = (id) => document.getElementById(id);
const here = new URL(location.href);

function show(section) {
  for (const id of ['connect', 'refused', 'connected']) {
    $(id).hidden = id !== section;
  }
}

function showConnect(message) {
  $('iss').value = here.searchParams.get('iss')
    ?? localStorage.getItem('iss') ?? `${location.protocol}//${location.hostname}:8080/v2/fhir`;
  const client = here.searchParams.get('client') ?? localStorage.getItem('client');
  if (client) {
    if (![...$('client').options].some((o) => o.value === client)) {
      $('client').add(new Option(client, client));
    }
    $('client').value = client;
  }
  show('connect');
  if (message) {
    $('launch').insertAdjacentHTML('beforebegin', '<p class="error" role="alert"></p>');
    $('launch').previousElementSibling.textContent = message;
  }
}

$('launch').addEventListener('submit', (event) => {
  event.preventDefault();
  const iss = $('iss').value;
  const clientId = $('client').value;
  localStorage.setItem('iss', iss);
  localStorage.setItem('client', clientId);
  FHIR.oauth2.authorize({
    clientId,
    iss,
    scope: SCOPE,
    redirectUri: `${location.origin}/`,
    pkceMode: 'required',
  });
});

function describeToken(client) {
  const response = client.state.tokenResponse;
  $('patient').textContent = client.patient.id ?? '(none)';
  $('scope').textContent = response.scope ?? '';
  $('token-kind').textContent = `${response.access_token.split('.').length === 3 ? 'JWT' : 'opaque'}, `
    + `expires ${new Date(client.state.expiresAt * 1000).toLocaleTimeString()}`;
  $('refresh').textContent = response.refresh_token ? 'yes' : 'none';
}

async function summary(response) {
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await response.json() : await response.text();
  if (response.ok) {
    const entries = body.entry?.length ?? 0;
    return { text: `${body.resourceType}${body.resourceType === 'Bundle' ? ` of ${entries}` : ''}`, body };
  }
  // RFC 6750: the challenge names the error whatever the body's format
  const challenge = response.headers.get('www-authenticate') ?? '';
  return {
    error: body.error ?? /error="([^"]*)"/.exec(challenge)?.[1] ?? '',
    text: `${body.error ?? response.statusText}${body.error_description ? `: ${body.error_description}` : ''}`,
    challenge,
    body,
  };
}

let reads = 0;

async function read(client) {
  const patient = client.patient.id;
  const token = client.state.tokenResponse.access_token;
  const base = `${client.state.serverUrl.replace(/\/$/, '')}/`;
  $('results').textContent = '';
  for (const [type, path] of [
    ['ExplanationOfBenefit', `ExplanationOfBenefit?patient=${encodeURIComponent(patient)}`],
    ['Coverage', `Coverage?patient=${encodeURIComponent(patient)}`],
    ['Patient', `Patient/${encodeURIComponent(patient)}`],
  ]) {
    const item = document.createElement('div');
    item.id = `result-${type}`;
    item.className = 'result';
    try {
      // never from the browser's cache: a revoked app must see the refusal
      const response = await fetch(new URL(path, base), {
        cache: 'no-store',
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' },
      });
      const s = await summary(response);
      item.classList.add(response.ok ? 'ok' : 'refused');
      item.dataset.status = response.status;
      item.dataset.error = s.error ?? '';
      item.innerHTML = '<h2></h2><p></p><pre></pre>';
      item.querySelector('h2').textContent = `${type}: ${response.status}`;
      item.querySelector('p').textContent = s.challenge ? `${s.text} (${s.challenge})` : s.text;
      item.querySelector('pre').textContent = JSON.stringify(s.body, null, 1).slice(0, 600);
    } catch (err) {
      item.classList.add('refused');
      item.dataset.status = 'network';
      item.textContent = `${type}: the request failed (${err.message})`;
    }
    $('results').append(item);
  }
  reads += 1;
  $('status').textContent = `Read at ${new Date().toLocaleTimeString()}`;
  $('status').dataset.reads = reads;
}

async function revoke(client) {
  const base = client.state.serverUrl.replace(/\/$/, '');
  const discovery = await (await fetch(`${base}/.well-known/smart-configuration`)).json();
  const response = await fetch(discovery.revocation_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      token: client.state.tokenResponse.access_token,
      token_type_hint: 'access_token',
      client_id: client.state.clientId,
    }),
  });
  $('status').textContent = `Revocation answered ${response.status}`;
  $('status').dataset.revoked = response.status;
}

async function refresh(client) {
  if (!client.state.tokenResponse.refresh_token) {
    $('status').textContent = 'No refresh token: this app was approved one time only.';
    return;
  }
  try {
    await client.refresh();
    describeToken(client);
    $('status').textContent = 'Refreshed: a new access token';
    $('status').dataset.refreshed = 'yes';
  } catch (err) {
    $('status').textContent = `Refresh refused: ${err.message}`;
    $('status').dataset.refreshed = 'no';
  }
}

async function main() {
  if (here.searchParams.has('error')) {
    $('auth-error').textContent = here.searchParams.get('error');
    $('auth-error-description').textContent = here.searchParams.get('error_description') ?? '';
    $('auth-state').textContent = here.searchParams.get('state') ?? '';
    show('refused');
    return;
  }
  if (!here.searchParams.has('code') && !sessionStorage.getItem('SMART_KEY')) {
    showConnect();
    return;
  }
  let client;
  try {
    client = await FHIR.oauth2.ready();
  } catch (err) {
    sessionStorage.clear();
    showConnect(`Could not connect: ${err.message}`);
    return;
  }
  describeToken(client);
  show('connected');
  $('read').addEventListener('click', () => read(client));
  $('refresh-button').addEventListener('click', () => refresh(client));
  $('revoke').addEventListener('click', () => revoke(client));
}

main();
