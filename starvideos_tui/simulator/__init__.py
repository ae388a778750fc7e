"""A loopback stand-in for the StarVideos O3 API and its video host (standard library only)."""

from .server import RequestLog, SimConfig, Simulator

__all__ = ["RequestLog", "SimConfig", "Simulator"]
