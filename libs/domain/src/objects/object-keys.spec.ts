import { parseObjectKey } from './object-keys';

describe('parseObjectKey', () => {
  it('reads a key as the first of the types it fits', () => {
    expect(parseObjectKey('internet|example.com', ['hostname'])).toEqual({
      objectType: 'hostname',
      fields: { network: 'internet', name: 'example.com' },
    });
    expect(parseObjectKey('internet|192.0.2.1', ['ipaddress', 'hostname'])).toEqual({
      objectType: 'ipaddress',
      fields: { network: 'internet', address: '192.0.2.1' },
    });
    expect(parseObjectKey('internet|2001:db8::1|tcp|443', ['ipport'])).toMatchObject({
      fields: { address: '2001:db8::1', protocol: 'tcp', port: '443' },
    });
  });

  it('keeps the rest of a finding key in its last field', () => {
    expect(parseObjectKey('KAT-NO-SPF|hostname|internet|example.com', ['finding'])).toEqual({
      objectType: 'finding',
      fields: { finding_type: 'KAT-NO-SPF', ooi_type: 'hostname', ooi: 'internet|example.com' },
    });
  });

  it('says why a key fits none of the types', () => {
    expect(parseObjectKey('example.com', ['hostname'])).toEqual({
      error: 'a hostname key has 2 fields (network|name)',
    });
    expect(parseObjectKey('internet|not an ip', ['ipaddress'])).toEqual({
      error: 'ipaddress field address must be an IPv4 or IPv6 address',
    });
    expect(parseObjectKey('internet|192.0.2.1|tcp|70000', ['ipport'])).toEqual({
      error: 'ipport field port must be a port 1-65535',
    });
    expect(parseObjectKey('internet|', ['hostname'])).toEqual({ error: 'hostname field name must be a DNS name' });
    expect(parseObjectKey('x', ['planet'])).toEqual({ error: 'no object type among planet' });
  });
});

describe('the key fields each type accepts', () => {
  const fits = (key: string, type: string) => !('error' in parseObjectKey(key, [type]));
  const label = `${'a'.repeat(63)}`;

  it.each([
    // [type, key, fits?]
    ['hostname', 'internet|example.com', true],
    ['hostname', 'internet|Example.COM.', true], // case-insensitive, a trailing dot is allowed
    ['hostname', 'internet|_dmarc.example.com', true],
    ['hostname', `internet|${label}.com`, true], // a 63-character label
    ['hostname', `internet|${label}a.com`, false], // 64 characters
    ['hostname', `internet|${'a.'.repeat(126)}a`, true], // 253 characters
    ['hostname', `internet|${'a.'.repeat(127)}a`, false], // 255 characters
    ['hostname', 'internet|-example.com', false],
    ['hostname', 'internet|exa mple.com', false],
    // A `name` field is shared with network and httpheader keys, so it also takes what a network
    // name may be ("example-.com"); a `hostname` field (dnsrecord, certificate…) is a DNS name.
    ['hostname', 'internet|example-.com', true],
    ['dnsrecord', 'internet|example-.com|A|192.0.2.1', false],
    ['dnsrecord', 'internet|example..com|A|192.0.2.1', false],
    ['hostname', 'lab net|example.com', false], // a network name has no spaces
    ['hostname', '-lab|example.com', false], // nor starts with punctuation
    ['hostname', `${'n'.repeat(64)}|example.com`, true],
    ['hostname', `${'n'.repeat(65)}|example.com`, false],
    ['network', 'lab.net_1', true],
    ['network', 'lab net', false],
    ['dnsrecord', 'internet|192.0.2.1|PTR|example.com', true], // a record's hostname may be an address
    ['dnsrecord', 'internet|not a name|A|192.0.2.1', false],
    ['httpheader', 'internet|example.com|https|443|hsts', true],
    ['httpheader', 'internet|example.com|http|80|hsts', true],
    ['httpheader', 'internet|example.com|ftp|21|hsts', false],
    ['ipport', 'internet|192.0.2.1|udp|53', true],
    ['ipport', 'internet|192.0.2.1|sctp|53', false],
    ['ipport', 'internet|192.0.2.1|tcp|1', true],
    ['ipport', 'internet|192.0.2.1|tcp|65535', true],
    ['ipport', 'internet|192.0.2.1|tcp|0', false],
    ['ipport', 'internet|192.0.2.1|tcp|65536', false],
    ['ipport', 'internet|192.0.2.1|tcp|+80', false],
    ['ipport', 'internet|192.0.2.1||80', false], // an empty field
  ])('%s %s: %s', (type, key, expected) => {
    expect(fits(key, type)).toBe(expected);
  });

  it('names the rule a field breaks', () => {
    expect(parseObjectKey('internet|example.com|ftp|21|hsts', ['httpheader'])).toEqual({
      error: 'httpheader field scheme must be http or https',
    });
    expect(parseObjectKey('internet|192.0.2.1|sctp|53', ['ipport'])).toEqual({
      error: 'ipport field protocol must be tcp or udp',
    });
    expect(parseObjectKey('lab net|example.com', ['hostname'])).toEqual({
      error: 'hostname field network must be a network name (letters, digits, _ . -)',
    });
    expect(parseObjectKey('internet|x y|A|1', ['dnsrecord'])).toEqual({
      error: 'dnsrecord field hostname must be a DNS name',
    });
    expect(parseObjectKey('internet|192.0.2.1||80', ['ipport'])).toEqual({
      error: 'ipport field protocol must be tcp or udp',
    });
    expect(parseObjectKey('KAT-X||', ['finding'])).toEqual({ error: 'finding field ooi_type must be non-empty' });
  });
});
