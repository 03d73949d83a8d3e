-- nodecast ${project.version} for Lmod (the file beside this one, in Tcl, is for Environment Modules; Lmod takes
-- this one, which also works where the path has a space, unlike Lmod's reading of Tcl files):
--   module use DIST/modulefiles && module load nodecast
-- puts nodecast on PATH and sets NODECAST for job scripts: source $NODECAST/activate.sh DEST "LAUNCHER".
-- The distribution is found from where this file lies (DIST/modulefiles/nodecast/VERSION.lua), so it may be
-- unpacked anywhere.
help([[nodecast ${project.version}: delivers an interpreter and its packages to node-local storage on every node of
a job, and starts the application from there. 'nodecast --help' lists the commands.]])
whatis("nodecast ${project.version}: start Python, R and Julia applications on many nodes as fast as on one")

local file = myFileName()
local root = file:match("^(.*)/modulefiles/[^/]+/[^/]+$")
if not root or not isFile(pathJoin(root, "bin/nodecast")) then
    -- reached through a link from a centre's own modulefiles tree: where the file really lies
    local real = subprocess("readlink -f -- '" .. file:gsub("'", "'\\''") .. "'") or ""
    root = real:gsub("%s+$", ""):match("^(.*)/modulefiles/[^/]+/[^/]+$")
end
if not root or not isFile(pathJoin(root, "bin/nodecast")) then
    LmodError("nodecast: cannot find the distribution (DIST/bin/nodecast) from this modulefile, ", file)
end
prepend_path("PATH", pathJoin(root, "bin"))
setenv("NODECAST", root)
-- each node runs nodecast from a copy in its memory, made by the first start there and removed by purge: a start
-- then asks the shared file system for 5 files instead of about 175 (docs/install.md, "Staging")
if isDir("/dev/shm") then setenv("NODECAST_STAGE", "/dev/shm") end
