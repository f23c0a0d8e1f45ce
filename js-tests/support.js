// Shared by the SignalSocket unit tests: an in-test SockJS and a polling wait. Not a test file
// itself (node --test runs *.test.js).
'use strict';
const assert = require('node:assert');

// A SockJS constructor whose instances the test opens, feeds and drops by hand; every
// instance made is in FakeSock.made.
function fakeSockJS() {
  const made = [];
  function FakeSock(url, reserved, options) {
    this.url = url;
    this.options = options;
    this.readyState = 0;
    this.sent = [];
    made.push(this);
  }
  FakeSock.prototype.send = function (text) { this.sent.push(text); };
  FakeSock.prototype.open = function () { this.readyState = 1; this.onopen(); };
  // Like sockjs-client: closing a closed socket does nothing (its close event came already).
  FakeSock.prototype.close = function (code, reason) {
    if (this.readyState < 2) { this.drop(code || 1000, reason || ''); }
  };
  FakeSock.prototype.drop = function (code, reason) {
    this.readyState = 3;
    this.onclose({code, reason, wasClean: code === 1000});
  };
  FakeSock.prototype.receive = function (text) { this.onmessage({data: text}); };
  FakeSock.made = made;
  return FakeSock;
}

async function until(condition) {
  for (let i = 0; i < 200 && !condition(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(condition(), 'condition not reached');
}

module.exports = {fakeSockJS, until};
