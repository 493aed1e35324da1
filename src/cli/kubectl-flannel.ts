#!/usr/bin/env node
// kubectl plugin entry: `kubectl flannel status|doctor|migrate` runs the same subcommands.
import './main.js';
