# The persistent shell of a sandbox. Requests arrive on fd 3 as "<token> <length>\n<command bytes>";
# each command runs in this shell (so cd and export persist), with stdin from /dev/null and its output
# on fd 4, followed by "\n<token>:<exit code>\n".
exec 3<&0 4>&1 0</dev/null
cd "${ASB_WORKSPACE:-/workspace}" 2>/dev/null || true
while true; do
  IFS=' ' LC_ALL=C read -r -u 3 __asb_token __asb_length || exit 0
  __asb_cmd=''
  if [ "$__asb_length" -gt 0 ]; then
    IFS= LC_ALL=C read -r -d '' -u 3 -N "$__asb_length" __asb_cmd || true
  fi
  { eval "$__asb_cmd"; } 3<&- </dev/null >&4 2>&4
  printf '\n%s:%d\n' "$__asb_token" "$?" >&4
done
