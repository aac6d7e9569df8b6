async def identity(v):
    return v


async def twice(v):
    return v * 2


async def main(x):
    return await twice(await identity(x))
