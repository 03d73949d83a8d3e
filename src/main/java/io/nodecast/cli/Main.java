package io.nodecast.cli;

import io.nodecast.core.ExitCode;
import io.nodecast.core.NodecastException;
import io.nodecast.delivery.Transports;
import io.nodecast.digest.Sha256;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.function.Consumer;

@Command(name = "nodecast",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Deliver an interpreter and its packages to node-local storage on every node of a job, "
                + "and start the application from there.")
public final class Main implements Runnable {
    /** The commands, in the order help lists them. */
    static final List<Class<?>> COMMANDS = List.of(BundleCommand.class, BcastCommand.class, MirrorCommand.class, EnvCommand.class,
            ActivateCommand.class, PurgeCommand.class, TraceCommand.class, DemoCommand.class,
            SlurmNodeCommand.class,   // hidden: the task per node of --transport slurm
            CommandLine.HelpCommand.class);

    /** The commands whose ranks on one node wait for rank 0's word (delivery.Agreement). */
    private static final Set<String> WAITED_ON = Set.of("bcast", "mirror", "purge");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        CommandLine cl = commandLine(args);
        int code;
        try {
            code = cl.execute(args);
        } catch (Throwable t) {
            // an Error (out of memory, a stack overflow) escapes picocli's handler: still one line and a failure
            cl.getErr().println("nodecast: internal error: " + t + debugHint());
            if (debug()) t.printStackTrace(cl.getErr());
            code = ExitCode.FAILURE.code();
        }
        cl.getOut().flush();
        cl.getErr().flush();
        System.exit(code);
    }

    /** NODECAST_DEBUG=1 adds stack traces to messages; without it a failure is one line, as job logs want. */
    private static boolean debug() {
        String d = System.getenv("NODECAST_DEBUG");
        return d != null && !d.isEmpty() && !d.equals("0");
    }

    private static String debugHint() {
        return debug() ? "" : " (NODECAST_DEBUG=1 shows where)";
    }

    /** The configured command line with every command; tests call {@code execute} on it and read its writers. */
    public static CommandLine commandLine() {
        return commandLine(new String[0]);
    }

    /**
     * The command line for these arguments: when the first names a command, only that one is built. picocli builds a
     * command's whole model by reflection when it is added, and every rank of a job pays for it at start; help,
     * --version and a mistyped command get them all.
     */
    static CommandLine commandLine(String[] args) {
        CommandLine cl = new CommandLine(new Main());
        Class<?> only = args.length == 0 ? null : COMMANDS.stream()
                .filter(c -> c != CommandLine.HelpCommand.class && c.getAnnotation(Command.class).name().equals(args[0]))
                .findFirst().orElse(null);
        for (Class<?> c : COMMANDS) {
            if (only == null || c == only) cl.addSubcommand(c);
        }
        cl.setExecutionExceptionHandler(Main::handle);
        CommandLine.IParameterExceptionHandler refusal = cl.getParameterExceptionHandler();
        cl.setParameterExceptionHandler((e, given) -> {
            int code = refusal.handleParseException(e, given);
            // the other ranks of a one-node step wait for rank 0's word, which it would otherwise never write
            if (given.length > 0 && WAITED_ON.contains(given[0])) Transports.refused(System.getenv(), List.of(given), e.getMessage());
            return code;
        });
        cl.setExitCodeExceptionMapper(t -> switch (t) {
            case NodecastException ne -> ne.exitCode().code();
            case CommandLine.ParameterException pe -> ExitCode.USAGE.code();
            default -> ExitCode.FAILURE.code();
        });
        Map<String, String> codes = new LinkedHashMap<>();
        for (ExitCode c : ExitCode.values()) codes.put(String.format("%3d", c.code()), c.meaning());
        everyCommand(cl, c -> {
            c.getCommandSpec().mixinStandardHelpOptions(true);   // 'nodecast bcast --help' as well as 'nodecast help bcast'
            c.getCommandSpec().usageMessage().exitCodeListHeading("%nExit codes:%n").exitCodeList(codes);
        });
        return cl;
    }

    private static void everyCommand(CommandLine cl, Consumer<CommandLine> action) {
        action.accept(cl);
        for (CommandLine sub : cl.getSubcommands().values()) {
            if (!(sub.getCommand() instanceof CommandLine.HelpCommand)) everyCommand(sub, action);
        }
    }

    private static int handle(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (e instanceof NodecastException ne) {
            err.println("nodecast: " + ne.getMessage());
            if (debug() && ne.getCause() != null) ne.getCause().printStackTrace(err);
            err.flush();
            return ne.exitCode().code();
        }
        err.println("nodecast: internal error: " + e + debugHint());
        if (debug()) e.printStackTrace(err);
        err.flush();
        return ExitCode.FAILURE.code();
    }

    /** The version the build wrote into version.properties, the Java runtime nodecast runs on, and what hashes. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) p.load(in);
            }
            return new String[] {"nodecast " + p.getProperty("version", "(version unknown: built without Maven's resources)"),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.home") + ")",
                    "SHA-256: " + Sha256.implementation()};
        }
    }
}
