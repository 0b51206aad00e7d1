'use strict';
// nmap_normalizer (consumes file): turns the raw XML of an nmap task into ipport objects, one per
// open port. The raw output comes from the kat-nmap image, run as e.g.
//   nmap -sT -sV -Pn -n --unprivileged -oX - -p 22,80,443 <address>   (plus -6 for IPv6 targets)
// Input: the raw file's metadata (KAT_INPUT_JSON, with input_object = the object nmap scanned);
// the file itself is fetched from KAT_RAW_URL with the task's KAT_API_TOKEN.
// No XML library: nmap's XML is flat and regular, so a small tag matcher over <host> blocks will do.
const { input, setting, emit, log, run } = require('./kat');

const MAX_SERVICE = 100;
const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref) => {
    if (ref[0] !== '#') return ENTITIES[ref] ?? whole;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : Number(ref.slice(1));
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

function attributes(text) {
  const attrs = {};
  for (const [, name, dq, sq] of text.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[name] = decode(dq ?? sq);
  return attrs;
}

const ATTRS = String.raw`((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>`;

/** Every <name ...> tag in `xml` (not <nameSomethingElse>): its attributes, and its content up to
 *  </name> unless it is self-closing. An element whose end tag is missing (truncated) is skipped. */
function* elements(xml, name) {
  const open = new RegExp(`<${name}${ATTRS}`, 'g');
  for (let match; (match = open.exec(xml)); ) {
    const attrs = attributes(match[1]);
    if (match[2] === '/') {
      yield { attrs, content: '' };
      continue;
    }
    const end = xml.indexOf(`</${name}>`, open.lastIndex);
    if (end < 0) return;
    yield { attrs, content: xml.slice(open.lastIndex, end) };
    open.lastIndex = end;
  }
}

const first = (xml, name) => elements(xml, name).next().value;

async function fetchRaw() {
  const url = process.env.KAT_RAW_URL;
  if (!url) throw new Error('KAT_RAW_URL is not set');
  const response = await fetch(url, { headers: { Authorization: `Bearer ${process.env.KAT_API_TOKEN}` } });
  if (!response.ok) throw new Error(`fetching the raw output failed: HTTP ${response.status} ${response.statusText}`);
  return response.text();
}

run(async () => {
  const scanned = input.input_object || {};
  const network = scanned.network || setting('network', 'internet');
  if (input.truncated) log('warning: the raw output was truncated; only its complete <host> elements are read');

  const xml = (await fetchRaw()).replace(/<!--[\s\S]*?-->/g, '');
  if (!/<nmaprun[\s>]/.test(xml)) throw new Error(`the raw output is not nmap XML: it starts with ${JSON.stringify(xml.trimStart().slice(0, 40))}`);

  let hosts = 0;
  let open = 0;
  for (const host of elements(xml, 'host')) {
    hosts++;
    const ip = [...elements(host.content, 'address')].find((a) => ['ipv4', 'ipv6'].includes(a.attrs.addrtype));
    const address = ip ? ip.attrs.addr : scanned.address;
    for (const port of elements(host.content, 'port')) {
      const state = first(port.content, 'state');
      if (!state || state.attrs.state !== 'open') continue;
      const service = first(port.content, 'service');
      const name = service && service.attrs.name ? service.attrs.name.slice(0, MAX_SERVICE) : undefined;
      open++;
      emit('ipport', {
        network,
        address,
        protocol: port.attrs.protocol || 'tcp',
        port: Number(port.attrs.portid),
        state: 'open',
        ...(name ? { service: name } : {}),
      });
    }
  }
  log(`${open} open ports on ${hosts} hosts`);
});
