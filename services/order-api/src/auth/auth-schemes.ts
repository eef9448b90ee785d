/** The OpenAPI security schemes order-api's endpoints name (registered in docs.ts). */
export const AuthSchemes = {
  operator: 'operator',
  customer: 'customer',
  orderAccessToken: 'order-access-token',
} as const;
