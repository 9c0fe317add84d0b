"""Package suggestions in model output: found in commands, imports and manifests, checked
against the approved list and an optional registry snapshot."""

import json

from llm_dlp.inspect.packages import NOT_IN_REGISTRY, UNAPPROVED, suggested_packages
from llm_dlp.rules.ruleset import load_ruleset
from support.rules import bundled


def test_commands_imports_and_manifests():
    text = """Run `pip install requests 'fastapi>=0.100' reqeusts-toolkit[async]==1.2 -r requirements.txt` then
npm i --save-dev @acme/widgets@2.1.0 left-padder; yarn add react
cargo add serde tokyo-rt
go get github.com/acme/fastjson@v1.2.3
gem install rails-auth-helper
```python
import os, sys
from numpy.linalg import norm
import torchvisionx
```
```js
import x from "./local";
const y = require('fs');
import { z } from "ai-sdk-helpers";
```
```json
{"dependencies": {"express": "^4", "express-sesion": "1.0.0"}}
```
```toml
[project]
dependencies = ["httpx>=0.27", "pydantic-extra-validators"]
```
"""
    found = suggested_packages(text)
    assert ("pypi", "requests") in found and ("pypi", "fastapi") in found and ("pypi", "reqeusts-toolkit") in found
    assert ("npm", "@acme/widgets") in found and ("npm", "left-padder") in found and ("npm", "react") in found
    assert ("cargo", "tokyo-rt") in found and ("go", "github.com/acme/fastjson") in found and ("rubygems", "rails-auth-helper") in found
    assert ("pypi", "numpy") in found and ("pypi", "torchvisionx") in found and ("pypi", "os") not in found
    assert ("npm", "ai-sdk-helpers") in found and ("npm", "fs") not in found and ("npm", "./local") not in found
    assert ("npm", "express-sesion") in found and ("pypi", "pydantic-extra-validators") in found
    assert not any(name.startswith("-") or name.endswith(".txt") for _, name in found)


def test_policy_approved_unapproved_and_snapshot(tmp_path):
    (tmp_path / "names.txt").write_text("requests\nreal-but-unvetted\n")
    (tmp_path / "p.yaml").write_text("packages:\n  - ecosystem: pypi\n    allow: [requests, 'django-*']\n    snapshot: names.txt\n")
    policy = load_ruleset(tmp_path).packages
    found = policy.check("pip install requests django-rest Real_But.Unvetted made-up-thing")
    assert [(f.name, f.status) for f in found] == [("Real_But.Unvetted", UNAPPROVED), ("made-up-thing", NOT_IN_REGISTRY)]
    note = policy.note(found)
    assert "made-up-thing" in note and "not found in the registry snapshot" in note


def test_bundled_list_flags_only_unknown():
    policy = bundled().packages
    assert [f.name for f in policy.check("pip install numpy pandas numpy-ai-turbo")] == ["numpy-ai-turbo"]
    assert json.dumps(policy.check("npm install @types/node")) == "[]"
