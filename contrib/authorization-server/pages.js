// The authorization server's pages: plain server-rendered HTML, every
// field labelled, usable by keyboard and at phone width, no script.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escape(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const STYLE = `
body { font: 1rem/1.5 system-ui, sans-serif; margin: 0; color: #1b1b1b; }
header { background: #112e51; color: #fff; padding: .75rem 1rem; }
main { max-width: 36rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; }
label { display: block; margin: .75rem 0 .25rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box;
  font-size: 1rem; padding: .5rem; border: 1px solid #565c65; }
fieldset { border: 1px solid #dfe1e2; margin: 1rem 0; padding: .5rem 1rem; }
fieldset label { display: inline; font-weight: normal; }
.choice { margin: .5rem 0; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1.25rem; }
button { font-size: 1rem; padding: .6rem 1.25rem; border-radius: .25rem;
  border: 2px solid #005ea2; background: #005ea2; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #005ea2; }
button:focus, input:focus { outline: 3px solid #2491ff; outline-offset: 2px; }
.error { border-left: .5rem solid #b50909; background: #f4e3db; padding: .5rem 1rem; }
.notice { border-left: .5rem solid #e5a000; background: #faf3d1; padding: .5rem 1rem; }
.done { border-left: .5rem solid #00a91c; background: #ecf3ec; padding: .5rem 1rem; }
ul.apps { list-style: none; padding: 0; }
ul.apps > li { border: 1px solid #dfe1e2; padding: .75rem 1rem; margin: .75rem 0; }
@media (max-width: 30rem) { .actions button { width: 100%; } }
`;

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} - Medicare Blue Button</title>
<style>${STYLE}</style>
</head>
<body>
<header>Medicare Blue Button</header>
<main>
<h1>${escape(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

function alert(kind, text) {
  return text ? `<p class="${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${escape(text)}</p>` : '';
}

export function signInPage({ action, appName, error, username = '' }) {
  const intro = appName
    ? `<p><strong>${escape(appName)}</strong> wants to connect to your Medicare claims. Sign in with your Medicare account to continue.</p>`
    : '<p>Sign in with your Medicare account to see the apps you have connected.</p>';
  return page('Sign in', `${intro}
${alert('error', error)}
<form method="post" action="${escape(action)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" required value="${escape(username)}" autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="actions">
<button type="submit" name="action" value="sign-in">Sign in</button>
${appName ? '<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>' : ''}
</div>
</form>`);
}

const SEES = {
  'patient/ExplanationOfBenefit.read': 'your Medicare claims (Explanation of Benefit)',
  'patient/Coverage.read': 'your Medicare coverage and plans',
  'patient/Patient.read': 'your demographic record (name, date of birth, address)',
  profile: 'your name and account profile',
  'launch/patient': 'who you are in the claims data (your beneficiary id)',
  offline_access: 'your data until your approval ends, without you signing in again',
};

function describeScopes(scopes) {
  return scopes.filter((s) => SEES[s]).map((s) => SEES[s]);
}

function scopeList(scopes) {
  return `<ul>${describeScopes(scopes).map((s) => `<li>${escape(s)}</li>`).join('')}</ul>`;
}

export function consentPage({ action, appName, beneficiary, claims, demographics }) {
  const choice = demographics.length ? `
<fieldset>
<legend>Your profile and demographic information</legend>
<p>The app also asks for:</p>
${scopeList(demographics)}
<div class="choice"><input type="radio" id="share-all" name="demographics" value="share" checked>
<label for="share-all">Share my claims data and my profile and demographic information</label></div>
<div class="choice"><input type="radio" id="share-claims" name="demographics" value="decline">
<label for="share-claims">Share my claims data only, not my profile and demographic information</label></div>
</fieldset>` : '';
  return page(`Allow ${appName} to see your Medicare data?`, `
<p>Signed in as ${escape(beneficiary.name)}.</p>
<form method="post" action="${escape(action)}">
<p><strong>${escape(appName)}</strong> asks to see:</p>
${scopeList(claims)}
${choice}
<p>You can revoke this at any time from your connected apps.</p>
<div class="actions">
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny" class="secondary">Deny</button>
</div>
</form>`);
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toISOString().slice(0, 10) : '';
}

export function connectedAppsPage({ beneficiary, apps, csrf, done, pending }) {
  const items = apps.map((app) => `<li>
<h2>${escape(app.name)}</h2>
<p>Approved ${escape(when(app.approved))}${app.expires ? `, until ${escape(when(app.expires))}` : ', with no end date'} (${escape(app.dataAccessType)}).</p>
<p>It may see:</p>
${scopeList(app.scopes)}
<form method="post" action="/v2/accounts/apps/revoke">
<input type="hidden" name="csrf" value="${escape(csrf)}">
<input type="hidden" name="client_id" value="${escape(app.clientId)}">
<button type="submit" aria-label="Revoke ${escape(app.name)}">Revoke</button>
</form>
</li>`).join('\n');
  const pendingText = pending.length
    ? `Your revocation of ${pending.join(', ')} is recorded, but the API has not confirmed it yet; it is being retried.`
    : '';
  return page('Connected apps', `
<p>Signed in as ${escape(beneficiary.name)}.</p>
${alert('done', done)}
${alert('notice', pendingText)}
${apps.length ? `<ul class="apps">${items}</ul>` : '<p>No app can see your Medicare data.</p>'}
<form method="post" action="/v2/accounts/sign-out">
<input type="hidden" name="csrf" value="${escape(csrf)}">
<div class="actions"><button type="submit" class="secondary">Sign out</button></div>
</form>`);
}

export function errorPage({ error, error_description: description }) {
  return page('Something went wrong', `
${alert('error', description || error)}
<p>Error code: <code>${escape(error)}</code></p>`);
}
