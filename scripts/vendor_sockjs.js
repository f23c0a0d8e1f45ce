// Copies the pinned sockjs-client bundle from node_modules into our static files.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const pkgDir = path.join(root, 'node_modules', 'sockjs-client');
const source = path.join(pkgDir, 'dist', 'sockjs.min.js');
const target = path.join(root, 'clientsignal', 'static', 'clientsignal', 'sockjs.min.js');

if (!fs.existsSync(source)) {
  console.error('vendor_sockjs: ' + source + ' is missing; run `npm ci` first.');
  process.exit(1);
}
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
fs.copyFileSync(source, target);
console.log('vendor_sockjs: copied sockjs-client ' + version + ' to ' + path.relative(root, target));
