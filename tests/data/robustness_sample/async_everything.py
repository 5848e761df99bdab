import asyncio
import contextlib


async def agen():
    async with contextlib.AsyncExitStack() as stack:
        yield stack


async def main():
    async for item in agen():
        await asyncio.sleep(0)
    results = [x async for x in agen()]
    await asyncio.gather(*(asyncio.sleep(0) for _ in results))
