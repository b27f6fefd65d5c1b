import { isModhostError } from '@modhost/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostMatches, normalizeHost, parsePermission, permits } from './permission.js';

const p = parsePermission;

describe('permission grammar', () => {
  it('parses <domain>:<action>[:<scope>]', () => {
    expect(p('tasks:read')).toEqual({ domain: 'tasks', action: 'read', scope: undefined, text: 'tasks:read' });
    expect(p('fs:read:./data')).toMatchObject({ domain: 'fs', action: 'read', scope: './data' });
    expect(p('net:fetch:api.example.com:8443').scope).toBe('api.example.com:8443');
  });

  it.each([
    'tasks',
    'Tasks:read',
    'tasks:',
    ':read',
    'tasks:read:',
    'tasks:read:a b',
    'fs:read',
    'net:fetch',
    'net:fetch:exa mple.com',
    'net:fetch:a.com:99999',
  ])('rejects %j with MANIFEST_INVALID and the grammar', (text) => {
    let error: unknown;
    try {
      p(text);
    } catch (e) {
      error = e;
    }
    expect(isModhostError(error, 'MANIFEST_INVALID')).toBe(true);
    expect(String((error as Error).message)).toMatch(/<domain>:<action>|needs a scope|is not a host/);
  });
});

describe('matching', () => {
  it('needs the same domain and action, or a * action', () => {
    expect(permits(p('tasks:read'), p('tasks:read'))).toBe(true);
    expect(permits(p('tasks:*'), p('tasks:write'))).toBe(true);
    expect(permits(p('tasks:read'), p('tasks:write'))).toBe(false);
    expect(permits(p('tasks:read'), p('notes:read'))).toBe(false);
    expect(permits(p('tasks:read'), p('tasks:read:acme'))).toBe(false);
  });

  it('compares network scopes by normalised host and port', () => {
    expect(normalizeHost('API.Example.com.')).toBe('api.example.com:443');
    expect(normalizeHost('http://api.example.com/')).toBe('api.example.com:80');
    expect(normalizeHost('localhost:08080')).toBe('localhost:8080');
    expect(permits(p('net:fetch:api.example.com'), p('net:fetch:https://API.example.com:443'))).toBe(true);
    expect(permits(p('net:fetch:api.example.com'), p('net:fetch:api.example.com:8443'))).toBe(false);
    expect(hostMatches('*.example.com:443', 'a.b.example.com:443')).toBe(true);
    expect(hostMatches('*.example.com:443', 'example.com:443')).toBe(false);
    expect(hostMatches('*.example.com:443', 'badexample.com:443')).toBe(false);
  });

  it('compares file scopes by segments, never climbing out', () => {
    expect(permits(p('fs:read:./data'), p('fs:read:data/x/y.json'))).toBe(true);
    expect(permits(p('fs:read:./data'), p('fs:read:./database'))).toBe(false);
    expect(permits(p('fs:read:./data'), p('fs:read:./data/../etc'))).toBe(false);
    expect(permits(p('fs:read:./data'), p('fs:read:../x'))).toBe(false);
    expect(permits(p('fs:read:/srv/data'), p('fs:read:srv/data/x'))).toBe(false);
  });

  it('a wildcard subdomain grant never matches a host outside the domain (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(
      fc.property(label, label, fc.array(label, { maxLength: 3 }), (a, b, sub) => {
        const target = `${[...sub, a].join('.')}.com:443`;
        expect(hostMatches(`*.${b}.com:443`, target)).toBe(sub.length > 0 && a === b);
      }),
    );
  });
});
