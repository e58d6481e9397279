#!/usr/bin/env bash
# check-potfiles.sh SOURCE_ROOT
#
# Fails when a file under src/ or data/ has translatable text and is missing
# from po/POTFILES.in, or when po/POTFILES.in names a file that does not exist.
# Files listed in po/POTFILES.skip are exempt.
#
# Translatable text is:
#   C (.c, .c.in)                _( / _ ( / N_( / C_( / NC_( / ngettext (
#   GtkBuilder (.ui, .ui.in)     translatable="yes"
#   desktop and metainfo (.in)   always
#   GSettings schemas            a gettext-domain attribute
#
# SPDX-License-Identifier: GPL-3.0-or-later

set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 SOURCE_ROOT" >&2
  exit 2
fi

cd "$1"

potfiles=po/POTFILES.in
skipfiles=po/POTFILES.skip

if [[ ! -f $potfiles ]]; then
  echo "$potfiles does not exist" >&2
  exit 1
fi

# The names a list file gives: no comments, no blank lines, no "[type: …]"
# prefixes, no surrounding blanks.
list_names() {
  [[ -f $1 ]] || return 0
  sed -e 's/#.*//' -e 's/^[[:space:]]*\[[^]]*\][[:space:]]*//' \
      -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$1" | grep -v '^$' || true
}

c_marker='(^|[^[:alnum:]_])(N|C|NC)?_[[:space:]]*\(|(^|[^[:alnum:]_])(g_d?n?gettext|ngettext)[[:space:]]*\('

has_translatable_text() {
  local file=$1
  local name=${file%.in}
  name=${name%.in}

  case $name in
    *.c)
      grep -Eq "$c_marker" "$file"
      ;;
    *.ui)
      grep -Eq 'translatable[[:space:]]*=[[:space:]]*"(yes|true|1)"' "$file"
      ;;
    *.desktop | *.metainfo.xml | *.appdata.xml)
      return 0
      ;;
    *.gschema.xml)
      grep -q 'gettext-domain' "$file"
      ;;
    *)
      return 1
      ;;
  esac
}

declare -A listed=()
declare -A skipped=()
status=0

while IFS= read -r name; do
  listed[$name]=1
  if [[ ! -f $name ]]; then
    echo "$potfiles names a file that does not exist: $name"
    status=1
  fi
done < <(list_names "$potfiles")

while IFS= read -r name; do
  skipped[$name]=1
done < <(list_names "$skipfiles")

roots=()
for dir in src data; do
  [[ -d $dir ]] && roots+=("$dir")
done

if [[ ${#roots[@]} -gt 0 ]]; then
  while IFS= read -r -d '' file; do
    file=${file#./}
    [[ -n ${listed[$file]:-} || -n ${skipped[$file]:-} ]] && continue
    if has_translatable_text "$file"; then
      echo "$potfiles is missing $file"
      status=1
    fi
  done < <(find "${roots[@]}" -type f \
             \( -name '*.c' -o -name '*.ui' -o -name '*.in' -o -name '*.gschema.xml' \) \
             -print0 | sort -z)
fi

if [[ $status -ne 0 ]]; then
  echo "Update $potfiles (or list a file in $skipfiles) so that every translatable file is extracted." >&2
fi

exit $status
