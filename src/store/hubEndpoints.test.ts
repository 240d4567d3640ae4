import { expect, test } from 'vitest';
import { checkEndpoint, moveEndpoint } from './hubEndpoints.ts';

test('accepts https addresses and normalises them', () => {
  expect(checkEndpoint('  https://huggingface.co/ ')).toEqual({ ok: true, url: 'https://huggingface.co' });
  expect(checkEndpoint('https://HF-Mirror.com/hub//')).toEqual({ ok: true, url: 'https://hf-mirror.com/hub' });
  expect(checkEndpoint('http://localhost:8080')).toEqual({ ok: true, url: 'http://localhost:8080' });
  expect(checkEndpoint('http://127.0.0.1:5000/')).toEqual({ ok: true, url: 'http://127.0.0.1:5000' });
});

test('refuses what is not a hub address, saying why', () => {
  const refused = (text: string) => {
    const check = checkEndpoint(text);
    if (check.ok) throw new Error(`accepted ${text}`);
    return check.message;
  };
  expect(refused('')).toMatch(/Enter the address/);
  expect(refused('not a url')).toMatch(/not a web address/);
  expect(refused('huggingface.co')).toMatch(/not a web address/);
  expect(refused('ftp://example.com')).toMatch(/starts with https/);
  expect(refused('http://example.com')).toMatch(/access token is sent/);
  expect(refused('https://user:pw@example.com')).toMatch(/user name and password/);
  expect(refused('https://example.com/?a=1')).toMatch(/query/);
});

test('refuses an endpoint already in the list, after normalising', () => {
  const check = checkEndpoint('https://huggingface.co/', ['https://huggingface.co']);
  expect(check).toEqual({ ok: false, message: 'https://huggingface.co is already in the list.' });
});

test('moves entries and ignores moves past either end', () => {
  const list = ['a', 'b', 'c'];
  expect(moveEndpoint(list, 2, 1)).toEqual(['a', 'c', 'b']);
  expect(moveEndpoint(list, 0, 2)).toEqual(['b', 'c', 'a']);
  expect(moveEndpoint(list, 0, -1)).toEqual(list);
  expect(moveEndpoint(list, 2, 3)).toEqual(list);
  expect(list).toEqual(['a', 'b', 'c']);
});
