-- Tells every order-api instance when a product's stock goes UP (restock, PUT, any SQL), so each can
-- drop what it remembered about that product being sold out. Orders only ever take stock away, so
-- between two such notifications a stock level read from the database stays an upper bound.
-- NOTIFY is delivered when the transaction commits; the payload is the product's sku.
CREATE FUNCTION "notify_stock_replenished"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('product_stock_replenished', NEW."sku");
  RETURN NULL;
END
$$;

CREATE TRIGGER "products_stock_replenished"
  AFTER UPDATE OF "stock" ON "products"
  FOR EACH ROW WHEN (NEW."stock" > OLD."stock")
  EXECUTE FUNCTION "notify_stock_replenished"();

-- A product deleted and created again under the same sku starts with fresh stock too.
CREATE TRIGGER "products_created"
  AFTER INSERT ON "products"
  FOR EACH ROW
  EXECUTE FUNCTION "notify_stock_replenished"();

-- TRUNCATE (tests, a reset) fires no row trigger: '*' tells listeners to forget every product.
CREATE FUNCTION "notify_products_truncated"() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('product_stock_replenished', '*');
  RETURN NULL;
END
$$;

CREATE TRIGGER "products_truncated"
  AFTER TRUNCATE ON "products"
  FOR EACH STATEMENT
  EXECUTE FUNCTION "notify_products_truncated"();
