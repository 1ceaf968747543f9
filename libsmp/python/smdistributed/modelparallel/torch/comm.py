"""CommGroup, RankType and SMP's collectives on Python objects (smp.broadcast, smp.send,
smp.recv_from, smp.allgather, smp.gather, smp.barrier).

Objects are serialized with torch.save (tensors included, CUDA tensors come back on this rank's
device) and travel over libsmp's MPI object channel. Point-to-point messages pair by order
between two ranks, as in SMP: a broadcast is received with recv_from on every other member.
"""

import enum
import io

import torch

from smdistributed.modelparallel.torch import _smplib, core
from smdistributed.modelparallel.torch.exceptions import InvalidCommGroupError


class CommGroup(enum.Enum):
    WORLD = 0
    PP_GROUP = 1
    TP_GROUP = 2
    RDP_GROUP = 3
    DP_GROUP = 4
    MP_GROUP = 5


class RankType(enum.Enum):
    WORLD_RANK = 0
    PP_RANK = 1
    TP_RANK = 2
    RDP_RANK = 3
    DP_RANK = 4
    MP_RANK = 5


WORLD = CommGroup.WORLD
PP_GROUP = CommGroup.PP_GROUP
TP_GROUP = CommGroup.TP_GROUP
RDP_GROUP = CommGroup.RDP_GROUP
DP_GROUP = CommGroup.DP_GROUP
MP_GROUP = CommGroup.MP_GROUP


def get_rank_type(group):
    return RankType(_group(group).value)


def get_comm_group(rank_type):
    if not isinstance(rank_type, RankType):
        raise InvalidCommGroupError(f"{rank_type!r} is not an smp.RankType")
    return CommGroup(rank_type.value)


def _group(group):
    if isinstance(group, CommGroup):
        return group
    raise InvalidCommGroupError(f"{group!r} is not an smp.CommGroup (WORLD, PP_GROUP, TP_GROUP, "
                                "RDP_GROUP, DP_GROUP, MP_GROUP)")


def _members(group):
    g = _group(group)
    if g is CommGroup.WORLD:
        return list(range(core.size()))
    return _smplib.get_group(g.value)


def _dumps(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _loads(data):
    location = f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cpu"
    return torch.load(io.BytesIO(data), map_location=location)


def _global(peer, rank_type):
    if not isinstance(rank_type, RankType):
        raise InvalidCommGroupError(f"{rank_type!r} is not an smp.RankType")
    members = _members(get_comm_group(rank_type))
    if not 0 <= peer < len(members):
        raise InvalidCommGroupError(f"rank {peer} does not exist in {get_comm_group(rank_type).name} "
                                    f"(size {len(members)})")
    return members[peer]


def broadcast(obj, group):
    """Sends `obj` to every other member of `group`; they receive it with recv_from. Returns None."""
    core._require("smp.broadcast()")
    members = _members(group)
    if len(members) == 1:
        return None
    data = _dumps(obj)
    me = core.rank()
    for r in members:
        if r != me:
            _smplib.send_bytes(data, r)
    return None


def send(obj, dest_rank, rank_type):
    core._require("smp.send()")
    _smplib.send_bytes(_dumps(obj), _global(dest_rank, rank_type))


def recv_from(src_rank, rank_type):
    core._require("smp.recv_from()")
    return _loads(_smplib.recv_bytes(_global(src_rank, rank_type)))


def allgather(obj, group):
    """Every member's `obj`, indexed by its rank in `group`."""
    core._require("smp.allgather()")
    g = _group(group)
    if len(_members(g)) == 1:
        return [obj]
    return [_loads(d) for d in _smplib.allgather_bytes(_dumps(obj), g.value)]


def gather(obj, group, rank=0):
    """The root (group rank `rank`) gets every member's object; the others get []."""
    members = _members(group)
    gathered = allgather(obj, group)
    return gathered if members.index(core.rank()) == rank else []


def barrier(group=CommGroup.WORLD):
    core._require("smp.barrier()")
    _smplib.barrier(_group(group).value)


def dp_barrier():
    barrier(CommGroup.DP_GROUP)


def mp_barrier():
    barrier(CommGroup.MP_GROUP)


def pp_barrier():
    barrier(CommGroup.PP_GROUP)


def tp_barrier():
    barrier(CommGroup.TP_GROUP)


def rdp_barrier():
    barrier(CommGroup.RDP_GROUP)
