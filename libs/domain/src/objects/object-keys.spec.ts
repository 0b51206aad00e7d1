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
