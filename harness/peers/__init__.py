"""The grader's scripted peers: UDP, TCP, a segment-shaping TCP peer and a fault-injecting TFTP peer.

Each plays the other side of a conversation inside a sandbox and logs every packet and connection
event into the check's evidence (kinds: ``netgrade.evidence.Kind``).  Peers use the sandbox and the
protocol codecs below them, never the check API or grading above.
"""
