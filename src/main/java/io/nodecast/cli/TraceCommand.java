package io.nodecast.cli;

import io.nodecast.trace.Trace;
import io.nodecast.trace.TraceReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "trace", header = "Run a command under strace and count its file-system calls.", description = {
        "The calls are counted by path prefix and by call, failed lookups included; --shared counts what still reaches "
                + "the shared file system. It exits with CMD's status."})
public final class TraceCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--shared", paramLabel = "PATH", description = "A path on the shared file system to count calls under; repeatable.")
    List<Path> shared = new ArrayList<>();

    @Option(names = "--json", description = "Print the counts as JSON.")
    boolean json;

    @Parameters(paramLabel = "CMD", arity = "1..*", description = "The command (after --).")
    List<String> cmd;

    @Override
    public Integer call() {
        TraceReport r = Trace.run(cmd, System.getenv(), shared, java.lang.ProcessBuilder.Redirect.INHERIT);
        spec.commandLine().getErr().flush();
        var out = json ? spec.commandLine().getOut() : spec.commandLine().getErr();
        out.print(json ? r.json() : r.table());
        out.flush();
        return r.exitCode();
    }
}
