"""Coroutines that await something else: the blocking call into project code moves to a thread."""
import asyncio
import subprocess

import requests


def run_executable_sync(command: list) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def process_url(url: str) -> dict:
    response = requests.get(url, timeout=10)
    return response.json()


async def execute(command: list) -> str:
    await asyncio.sleep(0)
    result = run_executable_sync(command)
    return result


async def refresh(url: str) -> dict:
    await asyncio.sleep(0)
    return process_url(url)


async def notify(url: str) -> None:
    await asyncio.sleep(0)
    process_url(url)


def cli(url: str) -> None:
    print(process_url(url))
