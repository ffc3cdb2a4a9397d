# twistd application for the master in this directory: `buildbot start master`.
import os

from twisted.application import service
from twisted.python import log
from twisted.python.log import FileLogObserver, ILogObserver
from twisted.python.logfile import LogFile

from buildbot.master import BuildMaster

# Relocatable: the master is wherever this file is (a checkout, or a copy under /srv).
basedir = os.path.abspath(os.path.dirname(__file__))
configfile = "master.cfg"
umask = None

# note: this line is matched against to check that this is a buildmaster directory; do not edit it.
application = service.Application('buildmaster')
logfile = LogFile.fromFullPath(os.path.join(basedir, "twistd.log"), rotateLength=10_000_000, maxRotatedFiles=10)
application.setComponent(ILogObserver, FileLogObserver(logfile).emit)
# `buildbot start` echoes twistd.log to the operator from a "Log opened." line on, which
# Twisted no longer writes: without it the start prints nothing of the startup, neither a
# configuration error nor master.cfg's no-login WARNING.
log.msg("Log opened.")

m = BuildMaster(basedir, configfile, umask)
m.setServiceParent(application)
m.log_rotation.rotateLength = 10_000_000
m.log_rotation.maxRotatedFiles = 10
