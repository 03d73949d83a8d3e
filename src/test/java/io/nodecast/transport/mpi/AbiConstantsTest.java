package io.nodecast.transport.mpi;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The constants nodecast carries for each ABI family, checked against the installed mpi.h files. */
@Tag("mpi")
class AbiConstantsTest {
    static final Path MPICH_H = Path.of("/usr/include/x86_64-linux-gnu/mpich/mpi.h");
    static final Path OPENMPI_H = Path.of("/usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h");

    @Test
    void mpichHandlesMatchItsHeader() throws Exception {
        String h = Files.readString(MPICH_H);
        Abi.Mpich abi = new Abi.Mpich();
        Map<String, Long> want = Map.ofEntries(Map.entry("MPI_COMM_WORLD", abi.commWorld()), Map.entry("MPI_COMM_NULL", abi.commNull()),
                Map.entry("MPI_BYTE", abi.byteType()), Map.entry("MPI_INT", abi.intType()), Map.entry("MPI_LONG", abi.longType()),
                Map.entry("MPI_DOUBLE", abi.doubleType()), Map.entry("MPI_INFO_NULL", abi.infoNull()), Map.entry("MPI_MAX", abi.opMax()),
                Map.entry("MPI_SUM", abi.opSum()), Map.entry("MPI_ERRORS_RETURN", abi.errorsReturn()),
                Map.entry("MPI_REQUEST_NULL", abi.requestNull()));
        want.forEach((name, value) -> assertThat(define(h, name)).as(name).isEqualTo(value));
        assertThat(define(h, "MPI_COMM_TYPE_SHARED")).isEqualTo(abi.commTypeShared());
        assertThat(define(h, "MPI_UNDEFINED")).isEqualTo(Abi.UNDEFINED);
        assertThat(h).contains("#define MPI_STATUS_IGNORE (MPI_Status *)1");
    }

    @Test
    void openMpiHandlesAreTheGlobalsItsHeaderNames() throws Exception {
        String h = Files.readString(OPENMPI_H);
        for (String[] pair : new String[][] {{"MPI_COMM_WORLD", "ompi_mpi_comm_world"}, {"MPI_COMM_NULL", "ompi_mpi_comm_null"},
                {"MPI_BYTE", "ompi_mpi_byte"}, {"MPI_INT", "ompi_mpi_int"}, {"MPI_LONG", "ompi_mpi_long"}, {"MPI_DOUBLE", "ompi_mpi_double"},
                {"MPI_INFO_NULL", "ompi_mpi_info_null"}, {"MPI_MAX", "ompi_mpi_op_max"}, {"MPI_SUM", "ompi_mpi_op_sum"},
                {"MPI_ERRORS_RETURN", "ompi_mpi_errors_return"}, {"MPI_REQUEST_NULL", "ompi_request_null"}}) {
            assertThat(h).as(pair[0]).containsPattern("#define " + pair[0] + "\\s+OMPI_PREDEFINED_GLOBAL\\(\\s*\\w+,\\s*" + pair[1] + "\\)");
        }
        // MPI_COMM_TYPE_SHARED is the first member of its enum, so 0
        assertThat(h).containsPattern("enum\\s*\\{\\s*MPI_COMM_TYPE_SHARED\\s*,");
        assertThat(h).contains("#define MPI_STATUS_IGNORE ((MPI_Status *) 0)");
        assertThat(new Abi.OpenMpi(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0).commTypeShared()).isZero();
    }

    @Test
    void theLoadedLibrariesAreToldApart() {
        assertThat(Abi.of(MpiLibrary.open(java.util.List.of("libmpi.so.40")))).isInstanceOf(Abi.OpenMpi.class);
        assertThat(Abi.of(MpiLibrary.open(java.util.List.of("libmpich.so.12")))).isInstanceOf(Abi.Mpich.class);
    }

    @Test
    void theLauncherPicksTheLibrary() {
        assertThat(MpiLibrary.candidates(java.util.Optional.empty(), Map.of("OMPI_COMM_WORLD_SIZE", "4")).getFirst()).isEqualTo("libmpi.so.40");
        assertThat(MpiLibrary.candidates(java.util.Optional.empty(), Map.of("PMI_RANK", "0")).getFirst()).isEqualTo("libmpich.so.12");
        assertThat(MpiLibrary.candidates(java.util.Optional.of("/opt/x/libmpi.so"), Map.of("PMI_RANK", "0"))).containsExactly("/opt/x/libmpi.so");
    }

    private static long define(String header, String name) {
        Matcher m = Pattern.compile("#define\\s+" + name + "\\s+\\(?\\s*(?:\\(\\w+\\))?\\s*\\(?(-?(?:0x[0-9a-fA-F]+|\\d+))\\)?").matcher(header);
        assertThat(m.find()).as(name + " in " + header.length() + " chars of mpi.h").isTrue();
        String v = m.group(1);
        return v.startsWith("0x") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
    }

    @Test
    void finalizeIsSkippedOnlyWhereMpichOverUcxCanHangInIt() throws Exception {
        String debian = new String(new ProcessBuilder("mpichversion").start().getInputStream().readAllBytes());
        assertThat(debian).contains("ch4:ucx");
        assertThat(Mpi.finalizeMayHang(debian)).as("Debian 12's MPICH 4.0.2 on ch4:ucx").isTrue();
        assertThat(Mpi.finalizeMayHang("MPICH Version:      4.2.0\nMPICH Device:       ch4:ucx")).isFalse();
        assertThat(Mpi.finalizeMayHang("MPICH Version:      4.0.2\nMPICH Device:       ch4:ofi")).isFalse();
        assertThat(Mpi.finalizeMayHang("Open MPI v4.1.4, package: Debian OpenMPI")).isFalse();
    }
}
