// Builds the npm package django-clientsignal (npm/) from the Django package's own browser
// client, so both ship the same code: the factory of clientsignal/static/clientsignal/
// clientsignal.js (the UMD file the template tag serves) and its clientsignal.d.ts.
//
// npm/dist/clientsignal.js       ES module for browsers and bundlers; imports sockjs-client's
//                                browser bundle (its lib/ needs Node's `global`)
// npm/dist/clientsignal.cjs      CommonJS; require('sockjs-client')
// npm/dist/clientsignal.node.js  ES module for Node: the CommonJS one re-exported (one copy of
//                                SignalSocket and its multiplexers however it is loaded)
// npm/dist/clientsignal.d.ts     the types of the ES modules (export default)
// npm/dist/clientsignal.d.cts    the types of the CommonJS module (export =)
// npm/LICENSE                    the repository's
//
// Run by `npm pack` in npm/ (prepack) and by `make npm`. It refuses a package.json whose version
// is not clientsignal.__version__ (PEP 440) in npm's form (0.2.0.dev0 -> 0.2.0-dev.0).
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const root = path.resolve(__dirname, '..');
const npmDir = path.join(root, 'npm');
const staticDir = path.join(root, 'clientsignal', 'static', 'clientsignal');
const FACTORY = 'function signalSocketFactory(GlobalSockJS) {';
const WRAPPER_END = '}));';
const TYPES_END = 'export = SignalSocket;\nexport as namespace SignalSocket;\n';

function fail(message) {
  console.error('build_npm: ' + message);
  process.exit(1);
}

// PEP 440's X.Y.Z, X.Y.Z{a,b,rc}N and X.Y.Z.devN as npm (semver) versions.
function npmVersion(pep440) {
  const match = /^(\d+\.\d+\.\d+)(?:(a|b|rc)(\d+))?(?:\.dev(\d+))?$/.exec(pep440);
  if (!match) { fail('cannot write clientsignal.__version__ ' + pep440 + ' as an npm version'); }
  const pre = [];
  if (match[2]) { pre.push({a: 'alpha', b: 'beta', rc: 'rc'}[match[2]], match[3]); }
  if (match[4] !== undefined) { pre.push('dev', match[4]); }
  return match[1] + (pre.length ? '-' + pre.join('.') : '');
}

function pythonVersion() {
  const init = fs.readFileSync(path.join(root, 'clientsignal', '__init__.py'), 'utf8');
  const match = /^__version__ = "([^"]+)"$/m.exec(init);
  if (!match) { fail('no __version__ in clientsignal/__init__.py'); }
  return match[1];
}

// The factory's source text: `function signalSocketFactory(GlobalSockJS) { ... }`, checked to
// be one function expression returning SignalSocket.
function factorySource(source) {
  const start = source.indexOf(FACTORY);
  if (start === -1 || source.indexOf(FACTORY, start + 1) !== -1) {
    fail('clientsignal.js must have exactly one `' + FACTORY + '` line (its UMD factory)');
  }
  const end = source.lastIndexOf(WRAPPER_END);
  if (end < start || source.slice(end + WRAPPER_END.length).trim() !== '') {
    fail('clientsignal.js must end with the `' + WRAPPER_END + '` closing its UMD wrapper');
  }
  const factory = source.slice(start, end + 1);
  let made;
  try {
    made = vm.runInNewContext('(' + factory + ')', {}, {filename: 'clientsignal.js'});
  } catch (err) {
    fail('the factory of clientsignal.js is not one function expression: ' + err.message);
  }
  if (typeof made !== 'function' || made.name !== 'signalSocketFactory') {
    fail('the factory of clientsignal.js is not one function expression');
  }
  return factory;
}

function build() {
  const pkg = JSON.parse(fs.readFileSync(path.join(npmDir, 'package.json'), 'utf8'));
  const version = pythonVersion();
  if (pkg.version !== npmVersion(version)) {
    fail('npm/package.json has version ' + pkg.version + ' but clientsignal.__version__ is ' +
      version + ': set it to ' + npmVersion(version));
  }
  const factory = factorySource(fs.readFileSync(path.join(staticDir, 'clientsignal.js'), 'utf8'));
  const types = fs.readFileSync(path.join(staticDir, 'clientsignal.d.ts'), 'utf8');
  if (!types.endsWith(TYPES_END)) {
    fail('clientsignal.d.ts must end with `' + TYPES_END.trim().replace('\n', ' ') + '`');
  }
  const declarations = types.slice(0, -TYPES_END.length);
  const banner = '// ' + pkg.name + ' ' + pkg.version + ': SignalSocket, the browser client of ' +
    'clientsignal (Django signals as\n// browser events). Built by scripts/build_npm.js from ' +
    'clientsignal/static/clientsignal/; do not edit.\n';
  const files = {
    'dist/clientsignal.js': banner + "import SockJS from 'sockjs-client/dist/sockjs.js';\n\n" +
      'const SignalSocket = (' + factory + ')(SockJS);\n\nexport default SignalSocket;\n',
    'dist/clientsignal.cjs': banner + "'use strict';\n\nmodule.exports = (" + factory +
      ")(require('sockjs-client'));\n",
    'dist/clientsignal.node.js': banner + "export {default} from './clientsignal.cjs';\n",
    'dist/clientsignal.d.ts': banner + declarations + 'export default SignalSocket;\n',
    'dist/clientsignal.d.cts': banner + declarations + 'export = SignalSocket;\n',
  };
  fs.rmSync(path.join(npmDir, 'dist'), {recursive: true, force: true});
  fs.mkdirSync(path.join(npmDir, 'dist'));
  for (const [name, text] of Object.entries(files)) {
    fs.writeFileSync(path.join(npmDir, name), text);
  }
  fs.copyFileSync(path.join(root, 'LICENSE'), path.join(npmDir, 'LICENSE'));
  console.log('build_npm: ' + pkg.name + ' ' + pkg.version + ': ' +
    Object.keys(files).map((name) => 'npm/' + name).join(', ') + ', npm/LICENSE');
}

if (require.main === module) {
  build();
}

module.exports = {npmVersion, factorySource};
