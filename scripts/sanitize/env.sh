# The sanitizer options of vdlab's sanitized build (VDLAB_SANITIZE): scripts/sanitize/run.sh sources
# this file; source it to run a binary of build-sanitize/ by hand.
# AddressSanitizer: on top of the defaults (halt on the first error, leak check at exit), catch
# static initialisers that read another file's globals before they are constructed (the registries are
# filled from static objects) and stack memory used after its function returned.
export ASAN_OPTIONS=check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:strict_string_checks=1
# UndefinedBehaviorSanitizer: -fno-sanitize-recover already aborts on the first report; the stack
# says where.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# LeakSanitizer: each suppression in lsan.supp says why it is there.
sanitize_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export LSAN_OPTIONS=suppressions=$sanitize_dir/lsan.supp:print_suppressions=0
