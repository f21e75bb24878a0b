// A front for the test S3 server (s3rver checks the access key but not signatures): every
// request must carry a valid AWS SigV4 signature made with SECRET, and its x-amz-content-sha256
// must be the SHA-256 of the body received. Good requests are passed to the upstream unchanged;
// bad ones get S3's own error answers (403 SignatureDoesNotMatch, 400 XAmzContentSHA256Mismatch).
//   node s3front.js LISTEN_PORT UPSTREAM_PORT ACCESS_KEY SECRET   (prints "ready PORT")
'use strict';
const http = require('http');
const crypto = require('crypto');

const [listenPort, upstreamPort, accessKey, secret] = process.argv.slice(2);
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

// RFC 3986 encoding as SigV4 wants it: unreserved characters stay, everything else %XX.
function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalQuery(query) {
  if (!query) return '';
  return query.split('&').filter((p) => p.length > 0).map((p) => {
    const eq = p.indexOf('=');
    const k = decodeURIComponent((eq < 0 ? p : p.slice(0, eq)).replace(/\+/g, '%20'));
    const v = eq < 0 ? '' : decodeURIComponent(p.slice(eq + 1).replace(/\+/g, '%20'));
    return [uriEncode(k), uriEncode(v)];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => k + '=' + v).join('&');
}

// The path as the client signed it: each segment decoded then encoded again ("/" kept).
function canonicalPath(path) {
  return path.split('/').map((seg) => uriEncode(decodeURIComponent(seg))).join('/') || '/';
}

function s3Error(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

function verify(req, body) {
  const auth = req.headers['authorization'] || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return [403, 'AccessDenied', 'a SigV4 Authorization header is required'];
  const [, key, date, region, signedHeaders, signature] = m;
  if (key !== accessKey) return [403, 'InvalidAccessKeyId', 'unknown access key'];
  const payloadHash = req.headers['x-amz-content-sha256'];
  if (!payloadHash) return [400, 'InvalidRequest', 'x-amz-content-sha256 is required'];
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256(body))
    return [400, 'XAmzContentSHA256Mismatch', 'the body does not match x-amz-content-sha256'];
  const amzDate = req.headers['x-amz-date'] || '';
  if (!amzDate.startsWith(date)) return [403, 'SignatureDoesNotMatch', 'x-amz-date does not match the scope'];
  const url = req.url;
  const q = url.indexOf('?');
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-content-sha256'))
    return [403, 'SignatureDoesNotMatch', 'host and x-amz-content-sha256 must be signed'];
  const headers = names.map((h) => `${h}:${String(req.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, canonicalPath(q < 0 ? url : url.slice(0, q)),
    canonicalQuery(q < 0 ? '' : url.slice(q + 1)), headers, signedHeaders, payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const kSigning = hmac(hmac(hmac(hmac('AWS4' + secret, date), region), 's3'), 'aws4_request');
  const expected = hmac(kSigning, toSign).toString('hex');
  if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature)))
    return [403, 'SignatureDoesNotMatch', 'the request signature does not match'];
  return null;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('error', () => res.destroy());
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const bad = verify(req, body);
    console.log(`${req.method} ${req.url} ${bad ? bad[0] : 'signed'}` +
      (req.headers['x-amz-copy-source'] ? ` copy-from ${req.headers['x-amz-copy-source']}` : '') +
      ` at=${Date.now()}`);
    if (bad) return s3Error(res, ...bad);
    const up = http.request({ host: '127.0.0.1', port: Number(upstreamPort), method: req.method,
      path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => { if (!res.headersSent) s3Error(res, 503, 'ServiceUnavailable', 'upstream unavailable'); else res.destroy(); });
    up.end(body);
  });
});
server.listen(Number(listenPort), '127.0.0.1', () => console.log(`ready ${server.address().port}`));
