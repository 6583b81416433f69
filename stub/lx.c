// SPDX-License-Identifier: GPL-2.0
/*
 * A few lines of Python that GDB loads with kstub.ko's symbols (the
 * .debug_gdb_scripts section; GDB's auto-load safe-path must allow
 * kstub.ko's directory). They teach the kernel's own GDB scripts
 * (CONFIG_GDB_SCRIPTS) which CPU the selected thread is on: those scripts
 * know only QEMU's and kgdb's thread numbering, and $lx_current() and the
 * per-CPU helpers on x86 need it. A thread is a task (its pid) or a CPU's
 * idle task (named swapper/<cpu>).
 *
 * At a stop kstub lists only the tasks on a CPU (rsp.c), and GDB would
 * announce each of the others as new at every "info threads": the script
 * turns GDB's thread announcements off.
 *
 * And on x86_64, per-CPU symbols are offsets from each CPU's area, linked
 * at 0: GDB moves them with the rest of the image under KASLR (qOffsets
 * can only move whole segments), and the per-CPU helpers take them back.
 */
/* built in, vmlinux has no place for the section (and has the kernel's scripts) */
#ifdef MODULE
#define KSTUB_PY(line)	".ascii \"" line "\\n\"\n"

asm(".pushsection \".debug_gdb_scripts\", \"MS\", %progbits, 1\n"
	".byte 4\n"	/* an inline Python script: its name, then its text */
	KSTUB_PY("kstub-lx-cpu")
	KSTUB_PY("import gdb")
	KSTUB_PY("def kstub_thread_cpu():")
	KSTUB_PY("    from linux import tasks")
	KSTUB_PY("    thread = gdb.selected_thread()")
	KSTUB_PY("    task = tasks.get_task_by_pid(thread.ptid[1])")
	KSTUB_PY("    if task is not None:")
	KSTUB_PY("        return int(tasks.get_thread_info(task.dereference())['cpu'])")
	KSTUB_PY("    name = thread.name or ''")
	KSTUB_PY("    if name.startswith('swapper/'):")
	KSTUB_PY("        return int(name[len('swapper/'):])")
	KSTUB_PY("    raise gdb.GdbError('kstub: thread %d is not a task' % thread.ptid[1])")
	KSTUB_PY("def kstub_percpu_moved():")
	KSTUB_PY("    from linux import utils")
	KSTUB_PY("    if not utils.is_target_arch('x86'):")
	KSTUB_PY("        return None")
	KSTUB_PY("    addr = lambda s: int(gdb.parse_and_eval('(unsigned long)&' + s))")
	KSTUB_PY("    off = addr('_text') - 0xffffffff81000000")
	KSTUB_PY("    if not off or addr('__per_cpu_start') != off:")
	KSTUB_PY("        return None")
	KSTUB_PY("    return (off, addr('__per_cpu_end'))")
	KSTUB_PY("def kstub_teach_scripts():")
	KSTUB_PY("    try:")
	KSTUB_PY("        from linux import cpus, utils")
	KSTUB_PY("    except ImportError:")
	KSTUB_PY("        return False")
	KSTUB_PY("    if getattr(cpus, 'kstub_get_current_cpu', None):")
	KSTUB_PY("        return True")
	KSTUB_PY("    theirs = cpus.get_current_cpu")
	KSTUB_PY("    def get_current_cpu():")
	KSTUB_PY("        if utils.get_gdbserver_type() is None:")
	KSTUB_PY("            return kstub_thread_cpu()")
	KSTUB_PY("        return theirs()")
	KSTUB_PY("    their_per_cpu = cpus.per_cpu")
	KSTUB_PY("    def per_cpu(var_ptr, cpu):")
	KSTUB_PY("        moved = kstub_percpu_moved()")
	KSTUB_PY("        if moved and moved[0] <= int(var_ptr) < moved[1]:")
	KSTUB_PY("            var_ptr = gdb.Value(int(var_ptr) - moved[0]).cast(var_ptr.type)")
	KSTUB_PY("        return their_per_cpu(var_ptr, cpu)")
	KSTUB_PY("    cpus.kstub_get_current_cpu = get_current_cpu")
	KSTUB_PY("    cpus.get_current_cpu = get_current_cpu")
	KSTUB_PY("    cpus.per_cpu = per_cpu")
	KSTUB_PY("    return True")
	KSTUB_PY("def kstub_on_new_objfile(event):")
	KSTUB_PY("    if kstub_teach_scripts():")
	KSTUB_PY("        gdb.events.new_objfile.disconnect(kstub_on_new_objfile)")
	KSTUB_PY("if not kstub_teach_scripts():")
	KSTUB_PY("    gdb.events.new_objfile.connect(kstub_on_new_objfile)")
	KSTUB_PY("gdb.execute('set print thread-events off')")
	".byte 0\n"
	".popsection\n");
#endif /* MODULE */
