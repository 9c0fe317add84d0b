#!/usr/bin/env bash
# Creates or refreshes .venv at the repository root with a Python >= 3.12.
#   deploy/bootstrap.sh          runtime dependencies
#   deploy/bootstrap.sh test     also the test dependencies and the system tools the tests use
#   deploy/bootstrap.sh agents   only the real agent CLIs of tests/e2e/test_agents.py (the test profile includes them)
#   deploy/bootstrap.sh bench    the test profile, plus the code corpora and formatters of bench/
# Set LLM_DLP_PYTHON to pick the interpreter yourself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
profile=${1:-run}

is_suitable() {  # prints nothing; true when "$1" runs and is Python >= 3.12
  "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1
}

find_python() {
  local candidates=()
  [ -n "${LLM_DLP_PYTHON:-}" ] && candidates+=("$LLM_DLP_PYTHON")
  candidates+=(python3.13 python3.12 python3 python)
  if command -v pyenv >/dev/null 2>&1; then
    local pyroot; pyroot=$(pyenv root)
    # newest first
    while IFS= read -r p; do candidates+=("$p"); done < <(ls -d "$pyroot"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV)
  fi
  for p in /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do [ -x "$p" ] && candidates+=("$p"); done
  for c in "${candidates[@]}"; do
    local path; path=$(command -v "$c" 2>/dev/null) || continue
    if is_suitable "$path"; then echo "$path"; return 0; fi
  done
  return 1
}

# ---- the real coding-agent CLIs, for tests/e2e/test_agents.py -------------------------------------
# Pinned, installed into .tools/ (never globally), and re-installed only when a pin changes.
# Node 22 comes from the npm package "node" because Claude Code and Qwen Code need it; Aider gets
# a venv of its own (.tools/aider-venv) because its pinned dependencies conflict with ours.
AGENT_NPM_PINS=(@anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0 @google/gemini-cli@0.61.0
                @qwen-code/qwen-code@0.24.4 node@22.23.3)
AIDER_PIN=aider-chat==0.86.2
AIDER_PYTHONS=(python3.12 python3.11 python3.10)  # aider-chat supports Python 3.10 to 3.12

install_agents() {
  local tools="$root/.tools" npm_stamp="$root/.tools/npm/.llm-dlp-pins" aider_stamp="$root/.tools/aider-venv/.llm-dlp-pins"
  mkdir -p "$tools"
  if [ "$(cat "$npm_stamp" 2>/dev/null)" != "${AGENT_NPM_PINS[*]}" ]; then
    command -v npm >/dev/null 2>&1 || { echo "llm-dlp: npm is needed for the agent CLIs: install nodejs" >&2; exit 1; }
    echo "llm-dlp: installing the agent CLIs into .tools/npm: ${AGENT_NPM_PINS[*]}" >&2
    rm -rf "$tools/npm"
    npm install --prefix "$tools/npm" --save-exact --no-audit --no-fund --loglevel=error "${AGENT_NPM_PINS[@]}" >&2
    echo "${AGENT_NPM_PINS[*]}" > "$npm_stamp"
  fi
  if [ "$(cat "$aider_stamp" 2>/dev/null)" != "$AIDER_PIN" ]; then
    local py="" c
    for c in "${AIDER_PYTHONS[@]}" /usr/bin/python3; do  # a pyenv shim may exist without its version: run each
      if "$c" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info < (3, 13))' >/dev/null 2>&1; then py=$(command -v "$c"); break; fi
    done
    [ -n "$py" ] || { echo "llm-dlp: Aider needs a Python 3.10 to 3.12 (tried ${AIDER_PYTHONS[*]})" >&2; exit 1; }
    echo "llm-dlp: installing $AIDER_PIN into .tools/aider-venv with $py" >&2
    rm -rf "$tools/aider-venv"
    "$py" -m venv "$tools/aider-venv"
    "$tools/aider-venv/bin/python" -m pip install --quiet --disable-pip-version-check "$AIDER_PIN" >&2
    echo "$AIDER_PIN" > "$aider_stamp"
  fi
}

if [ "$profile" = agents ]; then
  install_agents
  exit 0
fi

# ---- the benchmarks' corpora: installed code of many languages, and the languages' formatters ------
# bench/engine_bench.py counts false positives per language in it; bench/fingerprint_bench.py indexes
# some of it as "private" code and pastes it back through the formatters.
BENCH_DEBIAN=(golang-go openjdk-17-jdk-headless openjdk-17-source ruby php-symfony-console php-guzzlehttp-guzzle
              linux-libc-dev libssl-dev python3-dev libstdc++-12-dev libfmt-dev libspdlog-dev nlohmann-json3-dev
              librust-clap-dev librust-regex-dev librust-serde-dev librust-syn-dev bash-completion postgresql-contrib
              clang-format shfmt rustfmt)
BENCH_PYPI=(sqlparse rstr kingfisher-bin==2.14.0 python-hcl2==8.1.4)  # python-hcl2: parses Terraform
# Sources of the languages Debian ships none of, unpacked (not installed) under .venv/share/llm-dlp/corpora/,
# one directory a package: TypeScript (rxjs indexed; zod, TanStack Query and Gesture Handler unrelated),
# Kotlin (Expo's modules core indexed; React Native Screens and Gesture Handler unrelated), C# (Python.NET
# indexed; React Native for Windows and Edge.js unrelated), Terraform (an EKS template indexed, two EC2 ones unrelated).
BENCH_NPM_CORPORA=(rxjs@7.8.2 zod@4.6.7 @tanstack/query-core@5.108.4 react-native-gesture-handler@3.5.0
                   expo-modules-core@58.2.0 react-native-screens@4.30.1 react-native-windows@0.76.17 edge-js@26.1.0)
BENCH_PYPI_CORPORA=(pythonnet==3.2.1 jupyter-deploy-tf-aws-eks-oidc==0.4.1 jupyter-deploy-tf-aws-ec2-base==0.6.3
                    jupyter-deploy-tf-aws-ec2-jupyterlab==0.1.2)

install_corpora() {  # npm packages and PyPI sdists or wheels, each unpacked into corpora/<its name>
  local corpora="$venv/share/llm-dlp/corpora" stamp="$venv/share/llm-dlp/corpora/.llm-dlp-pins"
  local pins="${BENCH_NPM_CORPORA[*]} ${BENCH_PYPI_CORPORA[*]}"
  [ "$(cat "$stamp" 2>/dev/null)" = "$pins" ] && return 0
  echo "llm-dlp: unpacking the benchmarks' corpora into $corpora" >&2
  rm -rf "$corpora"
  local work; work=$(mktemp -d)
  mkdir -p "$corpora" "$work/npm" "$work/pypi"
  local pin name
  for pin in "${BENCH_NPM_CORPORA[@]}"; do
    name=${pin%@*}
    (cd "$work/npm" && npm pack --silent "$pin" >/dev/null)
    mkdir -p "$corpora/$name"
    tar xzf "$work/npm/$(echo "${name#@}" | tr / -)-${pin##*@}.tgz" -C "$corpora/$name" --strip-components=1
  done
  # pythonnet's wheel has no C# sources: its sdist does; the Terraform templates' wheels do
  "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary pythonnet --dest "$work/pypi" \
    "${BENCH_PYPI_CORPORA[@]}" >&2
  for pin in "${BENCH_PYPI_CORPORA[@]}"; do
    name=${pin%==*}
    mkdir -p "$corpora/$name"
    local file; file=$(compgen -G "$work/pypi/$(echo "$name" | tr - _)-${pin##*==}[.-]*")  # pip's file names have _ for -
    case "$file" in
      *.whl) "$venv/bin/python" -m zipfile -e "$file" "$corpora/$name" ;;
      *) tar xzf "$file" -C "$corpora/$name" --strip-components=1 ;;
    esac
  done
  rm -rf "$work"
  echo "$pins" > "$stamp"
}

if [ "$profile" = bench ]; then
  "$0" test
  missing=()
  for p in "${BENCH_DEBIAN[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "llm-dlp: installing the benchmarks' corpora and formatters: ${missing[*]}" >&2
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${BENCH_PYPI[@]}" >&2
  install_corpora
  # TypeScript's compiler, whose syntax errors tell if a disguised TypeScript paste is still code
  typescript_dir="$venv/share/llm-dlp/typescript"
  if [ ! -f "$typescript_dir/node_modules/typescript/package.json" ]; then
    npm install --silent --no-audit --no-fund --prefix "$typescript_dir" typescript@5 >&2
  fi
  exit 0
fi

if [ ! -x "$venv/bin/python" ] || ! is_suitable "$venv/bin/python"; then
  if ! py=$(find_python); then
    echo "llm-dlp: no Python >= 3.12 found (tried LLM_DLP_PYTHON, python3.13, python3.12, python3, pyenv versions)." >&2
    echo "llm-dlp: install Python 3.12 or newer, or set LLM_DLP_PYTHON=/path/to/python3.12" >&2
    exit 1
  fi
  echo "llm-dlp: creating .venv with $py ($("$py" -V 2>&1))" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
fi

need_compiler() {  # the fingerprint extension (addons/llm_dlp/detect/_winnow.c) is compiled on install
  if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "llm-dlp: installing a C compiler (gcc) for the fingerprint extension" >&2
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >&2
    else
      echo "llm-dlp: a C compiler is needed to build the fingerprint extension: install gcc (or set CC)" >&2
      exit 1
    fi
  fi
  if ! "$venv/bin/python" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
    echo "llm-dlp: the Python headers (Python.h) of $("$venv/bin/python" -V 2>&1) are missing: install its development package (e.g. python3.12-dev)" >&2
    exit 1
  fi
}

stamp="$venv/.llm-dlp-installed"
hash=$(cat "$root/pyproject.toml" "$root"/addons/llm_dlp/*/*.c | sha256sum | cut -d' ' -f1)
installed=$(cat "$stamp" 2>/dev/null || true)
# a "test" install is a superset of a "run" install; a deleted build of the extension is rebuilt
if { [ "$installed" != "$hash test" ] && [ "$installed" != "$hash $profile" ]; } || ! "$venv/bin/python" -c 'import llm_dlp.detect._winnow' 2>/dev/null; then
  need_compiler
  extras=""; [ "$profile" = test ] && extras="[test]"
  echo "llm-dlp: installing Python dependencies into .venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$root$extras" >&2
  echo "$hash $profile" > "$stamp"
fi

if [ "$profile" = test ]; then
  # The Compose Specification's JSON Schema, for validating deploy/docker/compose.yaml: the last
  # Python docker-compose release ships it (only the schema is used, the package is not installed).
  spec="$venv/share/llm-dlp/compose_spec.json"
  if [ ! -s "$spec" ]; then
    wheels="$(mktemp -d)"
    "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --dest "$wheels" docker-compose==1.29.2 >&2
    mkdir -p "$(dirname "$spec")"
    "$venv/bin/python" -c 'import glob, sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(glob.glob(sys.argv[1] + "/*.whl")[0]).read("compose/config/compose_spec.json"))' "$wheels" > "$spec"
    rm -rf "$wheels"
  fi
  missing=()
  # tool:Debian package
  for need in curl:curl openssl:openssl prometheus:prometheus promtool:prometheus chromium:chromium node:nodejs npm:npm \
      nft:nftables ip:iproute2 setpriv:util-linux systemd-analyze:systemd; do
    command -v "${need%%:*}" >/dev/null 2>&1 || missing+=("${need##*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    echo "llm-dlp: installing system packages for the tests: ${missing[*]}" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    else sudo apt-get update -qq >&2 && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; fi
  fi
  install_agents  # after the system packages: npm comes with nodejs
  # prettier, for the fingerprint tests that reformat JavaScript as a developer's editor does
  prettier_dir="$venv/share/llm-dlp/prettier"
  if [ ! -x "$prettier_dir/node_modules/.bin/prettier" ]; then
    npm install --silent --no-audit --no-fund --prefix "$prettier_dir" prettier@3 >&2
  fi
fi
