from fastapi import FastAPI

from notify import notify

app = FastAPI(title="back office")


@app.post("/restock/{sku}")
async def restock(sku: str):
    await notify(f"restocked {sku}")
    return {"sku": sku}
