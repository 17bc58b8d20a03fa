"""sounddevice (an out-of-line ABI module built by the real cffi): import and
the calls that need no sound device."""

import sounddevice as sd


def test_version():
    assert sd.get_portaudio_version()[0] > 0
    assert "PortAudio" in sd.get_portaudio_version()[1]


def test_host_apis():
    apis = sd.query_hostapis()
    assert isinstance(apis, tuple) and apis
    assert all("name" in a for a in apis)


def test_devices_query():
    devices = sd.query_devices()
    assert isinstance(len(devices), int)


def test_check_settings_without_device():
    import pytest

    with pytest.raises((sd.PortAudioError, ValueError)):
        sd.check_output_settings(device=10_000)
