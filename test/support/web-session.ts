import type { Server } from 'node:http';
import request from 'supertest';

/**
 * Signs in through the sign-in form as a browser does: the form's page sets its anti-CSRF cookie
 * and field, and the POST carries both. Returns the session cookie (`kat_session=…`) and the CSRF
 * token of the session's forms.
 */
export async function signIn(server: Server | string, token: string): Promise<{ cookie: string; csrf: string }> {
  const http = request(server);
  const form = await http.get('/sign-in').expect(200);
  const signInCookie = cookieOf(form.headers['set-cookie'], 'kat_sign_in');
  const field = /name="sign_in" value="([^"]+)"/.exec(form.text)![1];
  const signedIn = await http
    .post('/sign-in')
    .set('Cookie', signInCookie)
    .type('form')
    .send({ sign_in: field, token })
    .expect(303);
  const cookie = cookieOf(signedIn.headers['set-cookie'], 'kat_session');
  const page = await http.get('/tasks/').set('Cookie', cookie).expect(200);
  return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(page.text)![1] };
}

/** The sign-in form's cookie and field, for a test that then posts its own body. */
export async function signInForm(server: Server | string): Promise<{ cookie: string; field: string }> {
  const form = await request(server).get('/sign-in').expect(200);
  return {
    cookie: cookieOf(form.headers['set-cookie'], 'kat_sign_in'),
    field: /name="sign_in" value="([^"]+)"/.exec(form.text)![1],
  };
}

/** `name=value` of the cookie of that name among Set-Cookie headers. */
export function cookieOf(setCookie: string | string[] | undefined, name: string): string {
  const found = [setCookie ?? []].flat().find((c) => c.startsWith(`${name}=`));
  if (!found) throw new Error(`no ${name} cookie was set`);
  return found.split(';')[0];
}
