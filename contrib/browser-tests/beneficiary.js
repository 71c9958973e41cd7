// What a beneficiary does in the browser, step by step, each step leaving
// a screenshot under build/browser-tests/<test>/.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OUTPUT = join(top, 'build', 'browser-tests');

export const PASSWORDS = { alice: 'alice-demo', bob: 'bob-demo' };
export const PATIENTS = { alice: '-20140000008325', bob: '-20140000010000' };

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    // root in CI containers: chromium's sandbox needs user namespaces
    args: ['--no-sandbox'],
  });
}

// one beneficiary's browser: its own cookies and storage
export class Beneficiary {
  #step = 0;

  constructor(browser, stack, name, test) {
    this.browser = browser;
    this.stack = stack;
    this.name = name;
    this.folder = join(OUTPUT, test.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase());
    mkdirSync(this.folder, { recursive: true });
  }

  async open() {
    this.context = await this.browser.newContext({ viewport: { width: 390, height: 844 } });
    this.page = await this.context.newPage();
    this.page.setDefaultTimeout(15000);
    return this;
  }

  async shot(what, page = this.page) {
    this.#step += 1;
    const file = join(this.folder, `${String(this.#step).padStart(2, '0')}-${this.name}-${what}.png`);
    await page.screenshot({ path: file, fullPage: true });
  }

  // the app's launch page, up to the authorization server's sign-in page
  async connect({ client = 'smart-demo-app', iss = `${this.stack.gateway}/v2/fhir` } = {}) {
    const { page } = this;
    await page.goto(`${this.stack.app}/?iss=${encodeURIComponent(iss)}&client=${client}`);
    await page.waitForSelector('#connect:not([hidden])');
    await this.shot('app-launch');
    await page.getByRole('button', { name: 'Connect to Medicare' }).click();
    await page.waitForURL(/\/v2\/o\/interaction\//);
    await this.shot('sign-in');
  }

  async signIn() {
    const { page } = this;
    await page.getByLabel('Username').fill(this.name);
    await page.getByLabel('Password').fill(PASSWORDS[this.name]);
    // by keyboard, as a beneficiary may
    await page.getByLabel('Password').press('Enter');
    await page.waitForSelector('text=asks to see');
    await this.shot('authorization-screen');
  }

  async cancel() {
    await this.page.getByRole('button', { name: 'Cancel' }).click();
    return this.refused();
  }

  async allow({ demographics = true } = {}) {
    const { page } = this;
    if (!demographics) {
      await page.getByLabel('Share my claims data only').check();
    }
    await this.shot(demographics ? 'allow-all' : 'allow-claims-only');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForSelector('#connected:not([hidden])');
    await this.shot('app-connected');
    return {
      patient: await page.textContent('#patient'),
      scope: await page.textContent('#scope'),
      refresh: await page.textContent('#refresh'),
      token: await page.textContent('#token-kind'),
    };
  }

  async deny() {
    await this.page.getByRole('button', { name: 'Deny' }).click();
    return this.refused();
  }

  async refused() {
    const { page } = this;
    await page.waitForSelector('#refused:not([hidden])');
    await this.shot('app-refused');
    return {
      error: await page.textContent('#auth-error'),
      state: await page.textContent('#auth-state'),
      url: page.url(),
    };
  }

  // the app reads EOB, Coverage and Patient; their statuses and errors
  async read(what = 'read') {
    const { page } = this;
    const before = Number(await page.getAttribute('#status', 'data-reads') ?? 0);
    await page.getByRole('button', { name: 'Read my data' }).click();
    await page.waitForSelector(`#status[data-reads="${before + 1}"]`);
    await this.shot(what);
    const results = {};
    for (const type of ['ExplanationOfBenefit', 'Coverage', 'Patient']) {
      const item = page.locator(`#result-${type}`);
      results[type] = {
        status: Number(await item.getAttribute('data-status')),
        error: await item.getAttribute('data-error'),
        text: await item.textContent(),
      };
    }
    return results;
  }

  async refresh() {
    const { page } = this;
    await page.getByRole('button', { name: 'Refresh the token' }).click();
    await page.waitForFunction(() => /Refresh|No refresh/.test(document.querySelector('#status').textContent));
    await this.shot('refresh');
    return page.textContent('#status');
  }

  async disconnect() {
    const { page } = this;
    await page.getByRole('button', { name: /Disconnect/ }).click();
    await page.waitForSelector('#status[data-revoked]');
    await this.shot('app-revoked-token');
    return page.getAttribute('#status', 'data-revoked');
  }

  // the account's connected-apps page in a second tab
  async connectedApps() {
    const page = await this.context.newPage();
    await page.goto(`${this.stack.gateway}/v2/accounts/apps`);
    if (page.url().endsWith('/sign-in')) {
      await page.getByLabel('Username').fill(this.name);
      await page.getByLabel('Password').fill(PASSWORDS[this.name]);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/v2\/accounts\/apps/);
    }
    this.apps = page;
    await this.shot('connected-apps', page);
    return page;
  }

  // clicks Revoke for the app; resolves when the page says it is done
  async revoke(appName) {
    const page = this.apps ?? await this.connectedApps();
    await page.getByRole('button', { name: `Revoke ${appName}` }).click();
    await page.waitForSelector('.done');
    await this.shot('revoked', page);
    await this.page.bringToFront();
    return page.textContent('main');
  }

  async close() {
    await this.context?.close();
  }
}
