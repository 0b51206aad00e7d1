export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'recommendation';
export const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low', 'recommendation'];

export interface FindingTypeDefinition {
  code: string;
  name: string;
  description: string;
  recommendation: string;
  severity: Severity;
  score: number;
}

/** The finding types the business rules raise; `kat seed` stores them. */
export const FINDING_TYPES: FindingTypeDefinition[] = [
  {
    code: 'KAT-CERTIFICATE-EXPIRED',
    name: 'Certificate expired',
    severity: 'high',
    score: 8.0,
    description: 'The TLS certificate served has expired: browsers and clients refuse or warn.',
    recommendation:
      'Renew the certificate and install it on every server that serves this name; automate renewal (ACME).',
  },
  {
    code: 'KAT-CERTIFICATE-EXPIRING',
    name: 'Certificate expires within 30 days',
    severity: 'medium',
    score: 5.0,
    description: 'The TLS certificate served expires within 30 days.',
    recommendation: 'Renew the certificate before it expires, and automate renewal (ACME) so it cannot lapse.',
  },
  {
    code: 'KAT-NO-SPF',
    name: 'No SPF record',
    severity: 'medium',
    score: 5.0,
    description:
      'The domain publishes no SPF (v=spf1) TXT record, so anyone can send mail that claims to come from it.',
    recommendation:
      'Publish an SPF record listing the servers allowed to send mail for the domain; "v=spf1 -all" if it sends none.',
  },
  {
    code: 'KAT-NO-DMARC',
    name: 'No DMARC record',
    severity: 'medium',
    score: 5.0,
    description: 'The domain publishes no DMARC policy (a v=DMARC1 TXT record at _dmarc.<domain>).',
    recommendation: 'Publish a DMARC record, starting with p=none and reports, then move to p=quarantine or p=reject.',
  },
  {
    code: 'KAT-NO-CAA',
    name: 'No CAA record',
    severity: 'low',
    score: 3.0,
    description: 'The domain does not say which certificate authorities may issue certificates for it.',
    recommendation: 'Publish CAA records naming the certificate authorities you use, e.g. 0 issue "letsencrypt.org".',
  },
  {
    code: 'KAT-OPEN-DATABASE-PORT',
    name: 'Database port open to the internet',
    severity: 'high',
    score: 8.5,
    description:
      'A database port (MySQL 3306, PostgreSQL 5432, SQL Server 1433, MongoDB 27017, Redis 6379) accepts connections.',
    recommendation: 'Close the port to the internet with a firewall; reach databases through a private network or VPN.',
  },
  {
    code: 'KAT-OPEN-SYSADMIN-PORT',
    name: 'Administration port open to the internet',
    severity: 'medium',
    score: 6.5,
    description: 'A remote administration port (SSH 22, Telnet 23, RDP 3389, VNC 5900) accepts connections.',
    recommendation: 'Restrict the port to known addresses or a VPN; never expose Telnet or VNC.',
  },
  {
    code: 'KAT-NO-HSTS',
    name: 'No Strict-Transport-Security header',
    severity: 'medium',
    score: 4.5,
    description: 'The site does not tell browsers to use HTTPS only, so a first visit can be downgraded to HTTP.',
    recommendation: 'Send Strict-Transport-Security: max-age=31536000; includeSubDomains over HTTPS.',
  },
  {
    code: 'KAT-NO-CSP',
    name: 'No Content-Security-Policy header',
    severity: 'low',
    score: 3.5,
    description: 'The site sets no Content-Security-Policy, which limits the damage of cross-site scripting.',
    recommendation: "Send a Content-Security-Policy, starting from default-src 'self' and widening only as needed.",
  },
  {
    code: 'KAT-NO-X-FRAME-OPTIONS',
    name: 'No X-Frame-Options header',
    severity: 'low',
    score: 3.0,
    description: 'The site may be framed by other sites (clickjacking).',
    recommendation: "Send X-Frame-Options: DENY (or SAMEORIGIN), or CSP frame-ancestors 'none'.",
  },
  {
    code: 'KAT-NO-X-CONTENT-TYPE-OPTIONS',
    name: 'No X-Content-Type-Options header',
    severity: 'recommendation',
    score: 1.0,
    description: 'Browsers may guess content types (MIME sniffing) instead of trusting the server.',
    recommendation: 'Send X-Content-Type-Options: nosniff.',
  },
];
