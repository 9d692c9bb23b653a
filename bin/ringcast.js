#!/usr/bin/env node
'use strict';
// The built CLI lives in dist/ (made by `npm install` through the prepare script, or `npm run build`).
require('../dist/src/cli/main.js').main(process.argv.slice(2));
