// Starts one local S3 server for smp-local's tests on 127.0.0.1 and a free port, then writes
// the port to a file so start-servers.sh can find it.
//   node serve.js s3rver    <data-dir> <port-file>   (s3rver 3: checks no signatures)
//   node serve.js s3rver-v4 <data-dir> <port-file>   (@20minutes/s3rver 5: verifies SigV4)
'use strict';
const fs = require('fs');

const [kind, directory, portFile] = process.argv.slice(2);
if (!kind || !directory || !portFile) {
  console.error('usage: node serve.js s3rver|s3rver-v4 <data-dir> <port-file>');
  process.exit(2);
}
const S3rver = kind === 's3rver-v4' ? require('@20minutes/s3rver') : require('s3rver');
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });

server.run().then(
  (address) => {
    fs.writeFileSync(`${portFile}.tmp`, String(address.port));
    fs.renameSync(`${portFile}.tmp`, portFile);
    console.log(`${kind} listening on 127.0.0.1:${address.port}, data in ${directory}`);
  },
  (err) => {
    console.error(`${kind} failed to start: ${err.stack || err}`);
    process.exit(1);
  },
);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
